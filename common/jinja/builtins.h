// The filters, tests, globals and methods of the interpreter, as tables the renderer and the
// parser consult. Internal to common/jinja.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jinja/value.h"

namespace rto::jinja {

// Whether jinja2 (with transformers' tojson) knows a filter or test, and whether it is here.
// Known but unsupported ones fail when they run, so a template that never reaches them renders.
enum class Support : uint8_t { kUnknown, kSupported, kUnsupported };
Support FilterSupport(absl::string_view name);
Support TestSupport(absl::string_view name);

// Applies filter `name` to `value`. REQUIRES: FilterSupport(name) == kSupported.
absl::StatusOr<Value> ApplyFilter(Renderer& r, absl::string_view name, Value value, CallArgs args);
// Runs test `name`. REQUIRES: TestSupport(name) == kSupported.
absl::StatusOr<bool> ApplyTest(Renderer& r, absl::string_view name, const Value& value, CallArgs args);

// The method `name` of a str, list, tuple or dict, as a bound method object; nullopt when the
// type has no such attribute. A mutating method (list.append, dict.update) is an Undefined that
// raises SecurityError when called, as ImmutableSandboxedEnvironment's.
std::optional<Value> LookupMethod(Renderer& r, const Value& self, absl::string_view name);

// `self.name(args)` without making a bound method first (the common case, kept allocation-free).
// REQUIRES: HasDirectMethod(self, name), which holds for the allowed str, list, tuple and dict
// methods that LookupMethod would return.
bool HasDirectMethod(const Value& self, absl::string_view name);
absl::StatusOr<Value> CallDirectMethod(Renderer& r, const Value& self, absl::string_view name, CallArgs args);

// The globals of transformers' environment: range, dict, namespace, raise_exception,
// strftime_now, joiner, cycler (lipsum is not provided).
std::optional<Value> LookupGlobal(Renderer& r, absl::string_view name);

// Binds arguments to a Python signature: `params` in order, the first `required` of them without
// a default. Too many or unknown arguments and missing required ones are TypeErrors naming `fn`.
absl::StatusOr<std::vector<std::optional<Value>>> Bind(absl::string_view fn, CallArgs args,
                                                       std::initializer_list<absl::string_view> params,
                                                       size_t required = 0);

// Python's `"..." % args` and `"...".format(...)`, for the subset documented in filters.cc.
absl::StatusOr<std::string> PercentFormat(Renderer& r, absl::string_view fmt, const Value& args);
absl::StatusOr<std::string> BraceFormat(Renderer& r, absl::string_view fmt, const CallArgs& args);

}  // namespace rto::jinja
