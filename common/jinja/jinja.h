// A sandboxed Jinja interpreter for Hugging Face chat templates.
//
// Semantics are those of Python jinja2 3.1.6 configured as transformers 5.x configures it for
// apply_chat_template: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with
// loopcontrols ({% break %}, {% continue %}), the {% generation %} block (renders its body),
// `tojson` as json.dumps(x, ensure_ascii=False, indent, separators, sort_keys), and the globals
// raise_exception(message), strftime_now(format), namespace(...) and dict(...). Undefined names
// are jinja2's default Undefined: they print as "", are false, and fail when used in arithmetic,
// called, indexed, or asked for an attribute.
//
// Values print as Python's str() would (None, True, 1.0, 1e-05, ['a', 1], {'k': 'v'}). Names
// resolve as jinja2 resolves them at compile time, constants fold as its optimizer folds them,
// and whitespace control, loop.* (including lazily filtered loops), macros, caller, namespaces,
// the immutable sandbox's SecurityErrors and jinja2's error messages follow jinja2.
//
// Not supported, each an error rather than a different text: integers beyond 64 bits
// (OverflowError), complex numbers (ValueError), recursive for loops and the
// extends/block/include/import/from/autoescape tags (parse errors), \N{name} escapes (parse
// error), and, as "not supported" TemplateRuntimeErrors when they run, the filters pprint,
// random, filesizeformat, striptags, urlencode, urlize, wordwrap and xmlattr, the global lipsum,
// and the str methods encode, expandtabs, format_map, isidentifier, isprintable, maketrans and
// translate. Approximations that change text: case mapping and character classes cover Latin,
// Greek, Cyrillic and Armenian (pystr.h); filters that return generators in Python (map, select,
// unique, batch, ...) return lists, and methods print without an address, which shows only when
// one is printed directly; Markup methods keep Markup but do not escape their arguments; `self`
// is undefined.
//
// A Template is immutable after Parse and may be rendered from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace rto::jinja {

struct TemplateBody;

// What one Render may spend; exceeding any is a "RenderLimitError" naming the field. Native
// recursion is also bounded (expressions within statements within macro calls, about 3000
// levels), whatever these say.
struct RenderLimits {
  size_t max_output_bytes = 1 << 20;     // the output, and any one string or list built on the way
  int64_t max_loop_iterations = 100000;  // for-loop iterations, all loops together
  int max_call_depth = 64;               // nested macro and caller() calls (capped at 256)
  // Units of work: one per expression, statement, element handled and 64 bytes of string built or
  // scanned; 20M is about a second. Raise it with max_loop_iterations for very long loops.
  int64_t max_work = 20000000;
};

struct RenderOptions {
  RenderLimits limits;
  // The strftime_now(format) global. Unset: the current local time through strftime(3).
  std::function<std::string(absl::string_view format)> strftime_now;
};

class Template {
 public:
  // Parses Jinja source. Errors are InvalidArgument "line L, column C: <what went wrong>".
  static absl::StatusOr<Template> Parse(absl::string_view source);

  // Renders with the variables of `context`, a JSON object (null is an empty one). Errors are
  // InvalidArgument: "template raised: <message>" from raise_exception, otherwise
  // "line N: <Python exception type>: <message>" (an undefined value used, a type error, an
  // unknown filter in an if branch, a sandbox violation, a limit exceeded). Never throws.
  absl::StatusOr<std::string> Render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const TemplateBody> body) : body_(std::move(body)) {}
  std::shared_ptr<const TemplateBody> body_;
};

}  // namespace rto::jinja
