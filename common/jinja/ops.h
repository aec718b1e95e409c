// Python's operators on Values: arithmetic with int/float semantics, `in`, slicing, and
// markupsafe's escape. Internal to common/jinja.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/jinja/ast.h"
#include "common/jinja/value.h"

namespace rto::jinja {

// a <op> b. REQUIRES: neither operand is Undefined (the caller raises UndefinedError first).
absl::StatusOr<Value> Arith(Renderer& r, BinOp op, const Value& a, const Value& b);
// -v (minus) or +v.
absl::StatusOr<Value> Negate(const Value& v, bool minus);
// `item in container`.
absl::StatusOr<bool> Contains(const Value& container, const Value& item);
// obj[start:stop:step] for str, list, tuple and range (None bounds are nullopt).
absl::StatusOr<Value> SliceValue(Renderer& r, const Value& obj, std::optional<int64_t> start,
                                 std::optional<int64_t> stop, std::optional<int64_t> step);
// obj[index] for str, list, tuple and range; nullopt when out of range (Python's IndexError).
std::optional<Value> IndexValue(const Value& obj, int64_t index);
// markupsafe.escape: & < > " ' as entities.
std::string HtmlEscape(absl::string_view s);
// int(x) for a bool or int, x.__index__ for slices and indices; nullopt for other types.
std::optional<int64_t> AsIndex(const Value& v);

}  // namespace rto::jinja
