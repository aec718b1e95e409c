// The Jinja parser: tokens to the syntax tree of ast.h, as jinja2's parser.py, with the
// statements of transformers' chat-template environment (loopcontrols' break/continue and the
// {% generation %} block) and jinja2's compile-time checks (unknown filters and tests outside an
// if, break outside a loop, bad assignment targets).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jinja/ast.h"

namespace rto::jinja {

// Errors are InvalidArgument "line L, column C: <what>, expected <what>". Tags that need a
// loader or autoescaping (extends, block, include, import, from, autoescape) are refused here.
absl::StatusOr<std::unique_ptr<TemplateBody>> ParseTemplate(absl::string_view source);

}  // namespace rto::jinja
