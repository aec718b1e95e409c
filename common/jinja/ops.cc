#include "common/jinja/ops.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/jinja/builtins.h"
#include "common/jinja/pystr.h"
#include "common/jinja/render.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

absl::Status Overflow() {
  return PyError("OverflowError", "integer overflow (integers here are 64-bit; Python's are unbounded)");
}

absl::Status Unsupported(absl::string_view op, const Value& a, const Value& b) {
  return TypeError(
      absl::StrCat("unsupported operand type(s) for ", op, ": '", TypeName(a), "' and '", TypeName(b), "'"));
}

const char* OpText(BinOp op) {
  switch (op) {
    case BinOp::kAdd: return "+";
    case BinOp::kSub: return "-";
    case BinOp::kMul: return "*";
    case BinOp::kDiv: return "/";
    case BinOp::kFloorDiv: return "//";
    case BinOp::kMod: return "%";
    case BinOp::kPow: return "** or pow()";
  }
  return "?";
}

bool IsInt(const Value& v) { return v.kind() == Kind::kInt || v.kind() == Kind::kBool; }
bool PlainList(const Value& v) { return v.kind() == Kind::kList && v.list().flavor == SeqFlavor::kPlain; }

absl::StatusOr<Value> IntPow(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 0) return PyError("ZeroDivisionError", "0.0 cannot be raised to a negative power");
    return Value::Float(std::pow(static_cast<double>(base), static_cast<double>(exp)));
  }
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, base, &result)) return Overflow();
    }
    exp >>= 1;
    if (exp > 0 && __builtin_mul_overflow(base, base, &base)) return Overflow();
  }
  return Value::Int(result);
}

absl::StatusOr<Value> FloatPow(double a, double b) {
  if (a == 0.0 && b < 0) return PyError("ZeroDivisionError", "0.0 cannot be raised to a negative power");
  if (a < 0 && std::floor(b) != b) return PyError("ValueError", "complex numbers are not supported");
  const double r = std::pow(a, b);
  if (std::isinf(r) && std::isfinite(a) && std::isfinite(b)) {
    return PyError("OverflowError", "(34, 'Numerical result out of range')");
  }
  return Value::Float(r);
}

absl::StatusOr<Value> IntArith(BinOp op, int64_t a, int64_t b) {
  int64_t r = 0;
  switch (op) {
    case BinOp::kAdd:
      if (__builtin_add_overflow(a, b, &r)) return Overflow();
      return Value::Int(r);
    case BinOp::kSub:
      if (__builtin_sub_overflow(a, b, &r)) return Overflow();
      return Value::Int(r);
    case BinOp::kMul:
      if (__builtin_mul_overflow(a, b, &r)) return Overflow();
      return Value::Int(r);
    case BinOp::kDiv:
      if (b == 0) return PyError("ZeroDivisionError", "division by zero");
      return Value::Float(static_cast<double>(a) / static_cast<double>(b));
    case BinOp::kFloorDiv:
    case BinOp::kMod: {
      if (b == 0) {
        return PyError("ZeroDivisionError",
                       op == BinOp::kMod ? "integer modulo by zero" : "integer division or modulo by zero");
      }
      if (a == std::numeric_limits<int64_t>::min() && b == -1) {
        if (op == BinOp::kMod) return Value::Int(0);
        return Overflow();
      }
      int64_t q = a / b, m = a % b;
      if (m != 0 && ((m < 0) != (b < 0))) --q, m += b;
      return Value::Int(op == BinOp::kMod ? m : q);
    }
    case BinOp::kPow: return IntPow(a, b);
  }
  return Value::Int(0);
}

// Python's float_floor_div and float_rem.
absl::StatusOr<Value> FloatDivMod(BinOp op, double a, double b) {
  if (b == 0.0)
    return PyError("ZeroDivisionError", op == BinOp::kMod ? "float modulo" : "float floor division by zero");
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) mod += b, div -= 1.0;
  } else {
    mod = std::copysign(0.0, b);
  }
  if (op == BinOp::kMod) return Value::Float(mod);
  double floordiv = 0.0;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  return Value::Float(floordiv);
}

absl::StatusOr<Value> NumberArith(BinOp op, const Value& a, const Value& b) {
  if (IsInt(a) && IsInt(b)) return IntArith(op, a.i(), b.i());
  const double x = a.f(), y = b.f();
  switch (op) {
    case BinOp::kAdd: return Value::Float(x + y);
    case BinOp::kSub: return Value::Float(x - y);
    case BinOp::kMul: return Value::Float(x * y);
    case BinOp::kDiv:
      if (y == 0.0) return PyError("ZeroDivisionError", "float division by zero");
      return Value::Float(x / y);
    case BinOp::kFloorDiv:
    case BinOp::kMod: return FloatDivMod(op, x, y);
    case BinOp::kPow: return FloatPow(x, y);
  }
  return Value::Float(0);
}

absl::StatusOr<Value> Concatenate(Renderer& r, const Value& a, const Value& b) {
  if (a.is_str() && b.is_str()) {
    RTO_RETURN_IF_ERROR(r.CheckStringSize(a.s().size() + b.s().size()));
    if (a.markup() == b.markup()) return r.MakeStr(a.s() + b.s(), a.markup());
    // Markup + str escapes the str (markupsafe's __add__ / __radd__).
    return r.MakeStr(a.markup() ? a.s() + HtmlEscape(b.s()) : HtmlEscape(a.s()) + b.s(), true);
  }
  const bool lists = PlainList(a) && PlainList(b);
  const bool tuples = a.kind() == Kind::kTuple && b.kind() == Kind::kTuple;
  if (lists || tuples) {
    RTO_RETURN_IF_ERROR(r.CheckListSize(a.items().size() + b.items().size()));
    RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(a.items().size() + b.items().size())));
    std::vector<Value> items = a.items();
    items.insert(items.end(), b.items().begin(), b.items().end());
    return lists ? Value::List(std::move(items)) : Value::Tuple(std::move(items));
  }
  if (a.is_str() && !a.markup())
    return TypeError(absl::StrCat("can only concatenate str (not \"", TypeName(b), "\") to str"));
  if (PlainList(a)) return TypeError(absl::StrCat("can only concatenate list (not \"", TypeName(b), "\") to list"));
  if (a.kind() == Kind::kTuple)
    return TypeError(absl::StrCat("can only concatenate tuple (not \"", TypeName(b), "\") to tuple"));
  return Unsupported("+", a, b);
}

absl::StatusOr<Value> Repeat(Renderer& r, const Value& seq, const Value& n) {
  if (!IsInt(n)) return TypeError(absl::StrCat("can't multiply sequence by non-int of type '", TypeName(n), "'"));
  const int64_t times = std::max<int64_t>(n.i(), 0);
  if (seq.is_str()) {
    const size_t len = seq.s().size();
    if (len > 0 && times > static_cast<int64_t>(r.options().limits.max_output_bytes / len)) {
      return r.CheckStringSize(r.options().limits.max_output_bytes + 1);
    }
    std::string out;
    out.reserve(len * times);
    for (int64_t k = 0; k < times; ++k) out += seq.s();
    return r.MakeStr(std::move(out), seq.markup());
  }
  const size_t len = seq.items().size();
  if (len > 0 && times > static_cast<int64_t>(r.options().limits.max_output_bytes / len)) {
    return r.CheckListSize(r.options().limits.max_output_bytes + 1);
  }
  RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(len) * times));
  std::vector<Value> items;
  for (int64_t k = 0; k < times; ++k) items.insert(items.end(), seq.items().begin(), seq.items().end());
  return seq.kind() == Kind::kTuple ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
}

bool Repeatable(const Value& v) { return v.is_str() || PlainList(v) || v.kind() == Kind::kTuple; }

}  // namespace

absl::StatusOr<Value> Arith(Renderer& r, BinOp op, const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return NumberArith(op, a, b);
  if (op == BinOp::kAdd) return Concatenate(r, a, b);
  if (op == BinOp::kMul) {
    if (Repeatable(a) && !b.is_undefined()) return Repeat(r, a, b);
    if (Repeatable(b) && IsInt(a)) return Repeat(r, b, a);
  }
  if (op == BinOp::kMod && a.is_str()) {
    RTO_ASSIGN_OR_RETURN(std::string s, PercentFormat(r, a.s(), b));
    return r.MakeStr(std::move(s), a.markup());
  }
  return Unsupported(OpText(op), a, b);
}

absl::StatusOr<Value> Negate(const Value& v, bool minus) {
  if (v.kind() == Kind::kFloat) return Value::Float(minus ? -v.f() : v.f());
  if (IsInt(v)) {
    if (!minus) return Value::Int(v.i());
    if (v.i() == std::numeric_limits<int64_t>::min()) return Overflow();
    return Value::Int(-v.i());
  }
  return TypeError(absl::StrCat("bad operand type for unary ", minus ? "-" : "+", ": '", TypeName(v), "'"));
}

absl::StatusOr<bool> Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!item.is_str()) {
        return TypeError(absl::StrCat("'in <string>' requires string as left operand, not ", TypeName(item)));
      }
      return container.s().find(item.s()) != std::string::npos;
    case Kind::kList:
    case Kind::kTuple:
      for (const Value& x : container.items()) {
        if (PyEquals(x, item)) return true;
      }
      return false;
    case Kind::kDict:
      if (!Hashable(item)) return TypeError(absl::StrCat("unhashable type: '", TypeName(item), "'"));
      return container.dict().Find(item) != nullptr;
    default: return TypeError(absl::StrCat("argument of type '", TypeName(container), "' is not iterable"));
  }
}

std::optional<int64_t> AsIndex(const Value& v) {
  if (IsInt(v)) return v.i();
  return std::nullopt;
}

namespace {

// PySlice_AdjustIndices over [0, length); returns the number of selected items.
int64_t AdjustSlice(int64_t length, int64_t* start, int64_t* stop, int64_t step) {
  auto adjust = [&](int64_t* x) {
    if (*x < 0) {
      *x = *x < -length ? (step < 0 ? -1 : 0) : *x + length;
    } else if (*x >= length) {
      *x = step < 0 ? length - 1 : length;
    }
  };
  adjust(start);
  adjust(stop);
  if (step < 0) return *stop < *start ? (*start - *stop - 1) / (-step) + 1 : 0;
  return *start < *stop ? (*stop - *start - 1) / step + 1 : 0;
}

}  // namespace

absl::StatusOr<Value> SliceValue(Renderer& r, const Value& obj, std::optional<int64_t> start_in,
                                 std::optional<int64_t> stop_in, std::optional<int64_t> step_in) {
  const int64_t step = step_in.value_or(1);
  if (step == 0) return PyError("ValueError", "slice step cannot be zero");
  int64_t start = start_in.value_or(step < 0 ? std::numeric_limits<int64_t>::max() : 0);
  int64_t stop = stop_in.value_or(step < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max());
  if (obj.is_str()) {
    RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(obj.s().size() / 64)));
    const std::u32string u = py::Decode(obj.s());
    const int64_t n = AdjustSlice(static_cast<int64_t>(u.size()), &start, &stop, step);
    std::u32string out;
    for (int64_t k = 0, i = start; k < n; ++k, i += step) out.push_back(u[i]);
    return r.MakeStr(py::Encode(out), obj.markup());
  }
  const auto& items = obj.items();
  const int64_t n = AdjustSlice(static_cast<int64_t>(items.size()), &start, &stop, step);
  RTO_RETURN_IF_ERROR(r.Charge(n));
  std::vector<Value> out;
  out.reserve(n);
  for (int64_t k = 0, i = start; k < n; ++k, i += step) out.push_back(items[i]);
  if (obj.list().flavor == SeqFlavor::kRange) {
    const ListData& l = obj.list();
    return Value::Range(l.range_start + start * l.range_step, l.range_start + stop * l.range_step, l.range_step * step,
                        std::move(out));
  }
  return obj.kind() == Kind::kTuple ? Value::Tuple(std::move(out)) : Value::List(std::move(out));
}

std::optional<Value> IndexValue(const Value& obj, int64_t index) {
  if (obj.is_str()) {
    const std::u32string u = py::Decode(obj.s());
    const int64_t n = static_cast<int64_t>(u.size());
    if (index < 0) index += n;
    if (index < 0 || index >= n) return std::nullopt;
    return Value::Str(py::Encode(std::u32string(1, u[index])), obj.markup());
  }
  const int64_t n = static_cast<int64_t>(obj.items().size());
  if (index < 0) index += n;
  if (index < 0 || index >= n) return std::nullopt;
  return obj.items()[index];
}

std::string HtmlEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace rto::jinja
