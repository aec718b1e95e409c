// jinja2's filters (filters.py) and tests (tests.py), with transformers' tojson. Generators
// (map, select, batch, ...) produce lists.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/jinja/builtins.h"
#include "common/jinja/ops.h"
#include "common/jinja/pystr.h"
#include "common/jinja/render.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

using FilterFn = absl::StatusOr<Value> (*)(Renderer&, Value, CallArgs);
using Opt = std::optional<Value>;

bool ArgBool(const Opt& a, bool def) { return a ? Truthy(*a) : def; }

absl::StatusOr<int64_t> ArgInt(const Opt& a, int64_t def) {
  if (!a || a->is_none()) return def;
  if (std::optional<int64_t> i = AsIndex(*a)) return *i;
  return TypeError(absl::StrCat("'", TypeName(*a), "' object cannot be interpreted as an integer"));
}

Value LowerIfStr(Value v) { return v.is_str() ? Value::Str(py::Lower(v.s())) : v; }

// jinja2's make_attrgetter: "a.b.0" looks up each part with getitem (digits as integers);
// `default` replaces an Undefined part.
absl::StatusOr<Value> GetPath(Renderer& r, Value item, const Opt& attribute, const Opt& default_value) {
  if (!attribute || attribute->is_none()) return item;
  std::vector<Value> parts;
  if (attribute->is_str()) {
    for (absl::string_view p : absl::StrSplit(attribute->s(), '.')) {
      const bool digits = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
      parts.push_back(digits && p.size() < 19 ? Value::Int(std::stoll(std::string(p))) : Value::Str(std::string(p)));
    }
  } else {
    parts.push_back(*attribute);
  }
  for (const Value& part : parts) {
    RTO_ASSIGN_OR_RETURN(item, r.GetItem(item, part));
    if (default_value && !default_value->is_none() && item.is_undefined()) item = *default_value;
  }
  return item;
}

// The scanning cost of comparing a sort key: its strings (a key is a value or a list of values).
int64_t KeyCost(const Value& k) {
  if (!k.is_seq()) return StringCost(k);
  int64_t cost = 0;
  for (const Value& x : k.items()) cost += StringCost(x);
  return cost;
}

// A stable merge sort whose comparison may fail (Python's TypeError for 'str' < 'int').
absl::Status SortBy(Renderer& r, std::vector<size_t>* order, const std::vector<Value>& keys, bool reverse) {
  std::vector<size_t> tmp(order->size());
  for (size_t width = 1; width < order->size(); width *= 2) {
    for (size_t lo = 0; lo < order->size(); lo += 2 * width) {
      const size_t mid = std::min(lo + width, order->size()), hi = std::min(lo + 2 * width, order->size());
      size_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi) {
        const Value& x = keys[(*order)[a]];
        const Value& y = keys[(*order)[b]];
        RTO_RETURN_IF_ERROR(r.Charge(1 + KeyCost(x) + KeyCost(y)));
        RTO_ASSIGN_OR_RETURN(bool b_first, reverse ? PyLess(x, y) : PyLess(y, x));
        tmp[k++] = b_first ? (*order)[b++] : (*order)[a++];
      }
      while (a < mid) tmp[k++] = (*order)[a++];
      while (b < hi) tmp[k++] = (*order)[b++];
    }
    order->swap(tmp);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Value>> SortedItems(Renderer& r, std::vector<Value> items, const std::vector<Value>& keys,
                                               bool reverse) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  RTO_RETURN_IF_ERROR(SortBy(r, &order, keys, reverse));
  std::vector<Value> out;
  out.reserve(items.size());
  for (size_t i : order) out.push_back(std::move(items[i]));
  return out;
}

// ---- string filters ----

absl::StatusOr<Value> Upper(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("upper", std::move(a), {}).status());
  return r.MakeStr(py::Upper(ToStr(v)), v.markup());
}

absl::StatusOr<Value> Lower(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("lower", std::move(a), {}).status());
  return r.MakeStr(py::Lower(ToStr(v)), v.markup());
}

absl::StatusOr<Value> Capitalize(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("capitalize", std::move(a), {}).status());
  return r.MakeStr(py::Capitalize(ToStr(v)), v.markup());
}

// jinja2's do_title: upper-cases the first character after any run of - ( { [ < or whitespace.
absl::StatusOr<Value> Title(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("title", std::move(a), {}).status());
  const std::u32string u = py::Decode(ToStr(v));
  auto sep = [](char32_t c) {
    return (c < 0x80 && absl::string_view("-({[<").find(static_cast<char>(c)) != absl::string_view::npos) ||
           py::IsSpace(c);
  };
  std::string out;
  bool word_start = true;
  for (char32_t c : u) {
    const std::string one = py::Encode(std::u32string(1, c));
    if (sep(c)) {
      out += one;
      word_start = true;
      continue;
    }
    out += word_start ? py::Upper(one) : py::Lower(one);
    word_start = false;
  }
  return r.MakeStr(std::move(out), v.markup());
}

absl::StatusOr<Value> Trim(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("trim", std::move(a), {"chars"}));
  std::optional<std::string> chars;
  if (p[0] && !p[0]->is_none()) {
    if (!p[0]->is_str()) return TypeError("strip arg must be None or str");
    chars = p[0]->s();
  }
  return r.MakeStr(py::Strip(ToStr(v), chars, true, true), v.markup());
}

absl::StatusOr<Value> StringFilter(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("string", std::move(a), {}).status());
  if (v.is_str()) return v;
  return r.MakeStr(ToStr(v));
}

absl::StatusOr<Value> Escape(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("escape", std::move(a), {}).status());
  if (v.is_str() && v.markup()) return v;
  return r.MakeStr(HtmlEscape(ToStr(v)), true);
}

absl::StatusOr<Value> ForceEscape(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("forceescape", std::move(a), {}).status());
  return r.MakeStr(HtmlEscape(ToStr(v)), true);
}

absl::StatusOr<Value> Safe(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("safe", std::move(a), {}).status());
  return r.MakeStr(ToStr(v), true);
}

// Python's str.replace, where an empty `old` matches between every two characters.
std::string ReplaceAll(absl::string_view s, absl::string_view old, absl::string_view repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    const std::u32string u = py::Decode(s);
    int64_t done = 0;
    for (size_t i = 0; i <= u.size(); ++i) {
      if (count < 0 || done < count) absl::StrAppend(&out, repl), ++done;
      if (i < u.size()) py::AppendUtf8(u[i], &out);
    }
    return out;
  }
  size_t start = 0;
  for (int64_t done = 0; count < 0 || done < count; ++done) {
    const size_t at = s.find(old, start);
    if (at == absl::string_view::npos) break;
    absl::StrAppend(&out, s.substr(start, at - start), repl);
    start = at + old.size();
  }
  absl::StrAppend(&out, s.substr(start));
  return out;
}

// The size of ReplaceAll's result, computed first so that a huge one is refused unbuilt.
size_t ReplacedSize(absl::string_view s, absl::string_view old, size_t repl_size, int64_t count) {
  size_t n = 0;
  if (old.empty()) {
    n = py::Length(s) + 1;
  } else {
    for (size_t at = s.find(old); at != absl::string_view::npos; at = s.find(old, at + old.size())) ++n;
  }
  if (count >= 0) n = std::min<size_t>(n, static_cast<size_t>(count));
  return s.size() - n * old.size() + n * repl_size;
}

absl::StatusOr<Value> Replace(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("replace", std::move(a), {"old", "new", "count"}, 2));
  RTO_ASSIGN_OR_RETURN(int64_t count, ArgInt(p[2], -1));
  const std::string s = ToStr(v), old = ToStr(*p[0]), repl = ToStr(*p[1]);
  RTO_RETURN_IF_ERROR(r.CheckStringSize(ReplacedSize(s, old, repl.size(), count)));
  return r.MakeStr(ReplaceAll(s, old, repl, count));
}

absl::StatusOr<Value> Indent(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("indent", std::move(a), {"width", "first", "blank"}));
  std::string indention;
  if (p[0] && p[0]->is_str()) {
    indention = p[0]->s();
  } else {
    RTO_ASSIGN_OR_RETURN(int64_t width, ArgInt(p[0], 4));
    RTO_RETURN_IF_ERROR(r.CheckStringSize(static_cast<size_t>(std::max<int64_t>(width, 0))));
    indention.assign(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
  }
  if (v.is_undefined()) return r.UndefinedError(v);
  if (!v.is_str()) {  // do_indent appends "\n" to what it is given and splits its lines
    if (v.kind() == Kind::kList) return PyError("AttributeError", "'list' object has no attribute 'splitlines'");
    return TypeError(absl::StrCat("unsupported operand type(s) for +=: '", TypeName(v), "' and 'str'"));
  }
  const std::vector<std::string> lines = py::SplitLines(ToStr(v) + "\n", false);
  RTO_RETURN_IF_ERROR(r.CheckStringSize(ToStr(v).size() + lines.size() * (indention.size() + 1)));
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    if (i > 0 && (ArgBool(p[2], false) || !lines[i].empty())) out += indention;
    out += lines[i];
  }
  if (ArgBool(p[1], false)) out = indention + out;
  return r.MakeStr(std::move(out), v.markup());
}

absl::StatusOr<Value> Center(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("center", std::move(a), {"width"}));
  RTO_ASSIGN_OR_RETURN(int64_t width, ArgInt(p[0], 80));
  const std::string s = ToStr(v);
  const int64_t len = static_cast<int64_t>(py::Length(s));
  if (width <= len) return r.MakeStr(s, v.markup());
  RTO_RETURN_IF_ERROR(r.CheckStringSize(s.size() + static_cast<size_t>(width - len)));
  const int64_t marg = width - len;
  const int64_t left = marg / 2 + (marg & width & 1);
  return r.MakeStr(std::string(left, ' ') + s + std::string(marg - left, ' '), v.markup());
}

absl::StatusOr<Value> Truncate(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("truncate", std::move(a), {"length", "killwords", "end", "leeway"}));
  RTO_ASSIGN_OR_RETURN(int64_t length, ArgInt(p[0], 255));
  RTO_ASSIGN_OR_RETURN(int64_t leeway, ArgInt(p[3], 5));
  const std::string end = p[2] ? ToStr(*p[2]) : "...";
  const int64_t end_len = static_cast<int64_t>(py::Length(end));
  if (length < end_len)
    return PyError("AssertionError", absl::StrCat("expected length >= ", end_len, ", got ", length));
  if (leeway < 0) return PyError("AssertionError", absl::StrCat("expected leeway >= 0, got ", leeway));
  if (!v.is_str()) {  // do_truncate measures and slices what it is given
    RTO_ASSIGN_OR_RETURN(int64_t n, r.Len(v));
    if (n <= length + leeway) return v;
    return PyError("AttributeError", absl::StrCat("'", TypeName(v), "' object has no attribute 'rsplit'"));
  }
  const std::u32string u = py::Decode(ToStr(v));
  if (static_cast<int64_t>(u.size()) <= length + leeway) return r.MakeStr(ToStr(v));
  std::u32string head = u.substr(0, static_cast<size_t>(length - end_len));
  if (!ArgBool(p[1], false)) {
    const size_t space = head.rfind(U' ');
    if (space != std::u32string::npos) head = head.substr(0, space);
  }
  return r.MakeStr(py::Encode(head) + end);
}

absl::StatusOr<Value> WordCount(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("wordcount", std::move(a), {}).status());
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : py::Decode(ToStr(v))) {
    const bool w = py::IsWordChar(c);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::Int(n);
}

absl::StatusOr<Value> Format(Renderer& r, Value v, CallArgs a) {
  if (!a.positional.empty() && !a.keywords.empty()) {
    return PyError("FilterArgumentError", "can't handle positional and keyword arguments at the same time");
  }
  Value args = Value::Tuple(a.positional);
  if (!a.keywords.empty()) {
    DictData d;
    for (auto& [k, val] : a.keywords) d.Set(Value::Str(k), val);
    args = Value::Dict(std::move(d));
  }
  RTO_ASSIGN_OR_RETURN(std::string s, PercentFormat(r, ToStr(v), args));
  return r.MakeStr(std::move(s));
}

// ---- numbers ----

// Python's float(str): surrounding whitespace, a sign, digits with single underscores,
// inf / infinity / nan in any case.
std::optional<double> ParseFloat(absl::string_view text) {
  std::string s = py::Strip(text, std::nullopt, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '_') {
      clean.push_back(s[i]);
      continue;
    }
    const bool between = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                         std::isdigit(static_cast<unsigned char>(s[i + 1]));
    if (!between) return std::nullopt;
  }
  std::string lower = py::Lower(clean);
  const size_t sign = !lower.empty() && (lower[0] == '+' || lower[0] == '-') ? 1 : 0;
  const std::string body = lower.substr(sign);
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double x = body == "nan" ? NAN : INFINITY;
    return sign && lower[0] == '-' ? -x : x;
  }
  if (body.empty() || body.find_first_not_of("0123456789.e+-") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return d;
}

// Python's int(str, base): whitespace, sign, underscores, and the 0x/0o/0b prefix for its base
// (any prefix when base is 0).
std::optional<int64_t> ParseInt(absl::string_view text, int64_t base, bool* overflow) {
  std::string s = py::Strip(text, std::nullopt, true, true);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) negative = s[0] == '-', s.erase(0, 1);
  if (s.size() > 1 && s[0] == '0' && std::isalpha(static_cast<unsigned char>(s[1]))) {
    const char p = s[1] | 32;
    const int64_t prefix_base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefix_base != 0 && (base == 0 || base == prefix_base)) {
      base = prefix_base;
      s.erase(0, 2);
      if (!s.empty() && s[0] == '_') s.erase(0, 1);
    }
  }
  if (base == 0) {
    if (s.size() > 1 && s[0] == '0' && s.find_first_not_of("0_") != std::string::npos) return std::nullopt;
    base = 10;
  }
  if (s.empty() || s.front() == '_' || s.back() == '_' || s.find("__") != std::string::npos) return std::nullopt;
  __int128 v = 0;
  for (char c : s) {
    if (c == '_') continue;
    const int d = std::isdigit(static_cast<unsigned char>(c))   ? c - '0'
                  : std::isalpha(static_cast<unsigned char>(c)) ? (c | 32) - 'a' + 10
                                                                : 99;
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > static_cast<__int128>(INT64_MAX) + 1) *overflow = true;
    if (*overflow) v = 0;
  }
  if (*overflow || (!negative && v > INT64_MAX)) return *overflow = true, std::nullopt;
  return static_cast<int64_t>(negative ? -v : v);
}

absl::StatusOr<Value> IntFilter(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("int", std::move(a), {"default", "base"}));
  const Value def = p[0] ? *p[0] : Value::Int(0);
  RTO_ASSIGN_OR_RETURN(int64_t base, ArgInt(p[1], 10));
  if (v.is_undefined()) return r.UndefinedError(v);
  if (v.kind() == Kind::kBool || v.kind() == Kind::kInt) return Value::Int(v.i());
  std::optional<double> f;
  if (v.kind() == Kind::kFloat) f = v.f();
  if (v.is_str()) {
    bool overflow = false;
    if (std::optional<int64_t> i = ParseInt(v.s(), base, &overflow)) return Value::Int(*i);
    if (overflow) return PyError("OverflowError", "integer beyond 64 bits (Python's are unbounded)");
    f = ParseFloat(v.s());
  }
  if (!f || std::isnan(*f) || std::isinf(*f)) return def;
  if (std::fabs(*f) >= 9.2233720368547758e18)
    return PyError("OverflowError", "integer beyond 64 bits (Python's are unbounded)");
  return Value::Int(static_cast<int64_t>(*f));
}

absl::StatusOr<Value> FloatFilter(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("float", std::move(a), {"default"}));
  if (v.is_undefined()) return r.UndefinedError(v);
  if (v.is_number()) return Value::Float(v.f());
  if (v.is_str()) {
    if (std::optional<double> f = ParseFloat(v.s())) return Value::Float(*f);
  }
  return p[0] ? *p[0] : Value::Float(0.0);
}

absl::StatusOr<Value> Abs(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("abs", std::move(a), {}).status());
  if (v.kind() == Kind::kFloat) return Value::Float(std::fabs(v.f()));
  if (v.kind() == Kind::kInt || v.kind() == Kind::kBool) {
    if (v.i() < 0) return Negate(v, true);
    return Value::Int(v.i());
  }
  return TypeError(absl::StrCat("bad operand type for abs(): '", TypeName(v), "'"));
}

// Python's round(x, n): correctly rounded to n decimal places, ties to even.
double RoundDigits(double x, int64_t n) {
  if (!std::isfinite(x) || n > 300) return x;
  if (n >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(n), x);
    return std::strtod(buf, nullptr);
  }
  const double scale = std::pow(10.0, static_cast<double>(-n));
  return std::nearbyint(x / scale) * scale;
}

// round(int, n): the int itself for n >= 0, else to a multiple of 10**-n, ties to even.
absl::StatusOr<Value> RoundInt(int64_t i, int64_t n) {
  if (n >= 0) return Value::Int(i);
  if (n < -18) return Value::Int(0);
  __int128 p = 1;
  for (int64_t k = 0; k < -n; ++k) p *= 10;
  __int128 rem = i % p;
  if (rem < 0) rem += p;
  const __int128 q = (static_cast<__int128>(i) - rem) / p;
  __int128 out = static_cast<__int128>(i) - rem;
  if (2 * rem > p || (2 * rem == p && (q % 2 != 0))) out += p;
  if (out > INT64_MAX || out < INT64_MIN)
    return PyError("OverflowError", "integer beyond 64 bits (Python's are unbounded)");
  return Value::Int(static_cast<int64_t>(out));
}

absl::StatusOr<Value> Round(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("round", std::move(a), {"precision", "method"}));
  RTO_ASSIGN_OR_RETURN(int64_t precision, ArgInt(p[0], 0));
  const std::string method = p[1] ? ToStr(*p[1]) : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    return PyError("FilterArgumentError", "method must be common, ceil or floor");
  }
  if (!v.is_number()) return TypeError(absl::StrCat("type ", TypeName(v), " doesn't define __round__ method"));
  if (method == "common") {
    if (v.kind() != Kind::kFloat) return RoundInt(v.i(), precision);
    return Value::Float(RoundDigits(v.f(), precision));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = method == "ceil" ? std::ceil(v.f() * scale) : std::floor(v.f() * scale);
  return Value::Float(scaled / scale);
}

// ---- sequences ----

absl::StatusOr<Value> Length(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("length", std::move(a), {}).status());
  RTO_ASSIGN_OR_RETURN(int64_t n, r.Len(v));
  return Value::Int(n);
}

absl::StatusOr<Value> First(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("first", std::move(a), {}).status());
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
  return items.front();
}

absl::StatusOr<Value> Last(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("last", std::move(a), {}).status());
  if (v.is_number() || v.is_none() || v.is_object())
    return TypeError(absl::StrCat("'", TypeName(v), "' object is not reversible"));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
  return items.back();
}

absl::StatusOr<Value> ListFilter(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("list", std::move(a), {}).status());
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  return Value::List(std::move(items));
}

absl::StatusOr<Value> Reverse(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("reverse", std::move(a), {}).status());
  if (v.is_str()) {
    std::u32string u = py::Decode(v.s());
    std::reverse(u.begin(), u.end());
    return r.MakeStr(py::Encode(u), v.markup());
  }
  absl::StatusOr<std::vector<Value>> items = r.Iterate(v);
  if (!items.ok()) return PyError("FilterArgumentError", "argument must be iterable");
  std::reverse(items->begin(), items->end());
  return Value::List(*std::move(items));
}

absl::StatusOr<Value> Join(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("join", std::move(a), {"d", "attribute"}));
  const std::string sep = p[0] ? ToStr(*p[0]) : "";
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    RTO_ASSIGN_OR_RETURN(Value item, GetPath(r, items[i], p[1], std::nullopt));
    const std::string s = ToStr(item);
    RTO_RETURN_IF_ERROR(r.CheckStringSize(out.size() + sep.size() + s.size()));
    if (i > 0) out += sep;
    out += s;
  }
  return r.MakeStr(std::move(out));
}

absl::StatusOr<Value> Default(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("default", std::move(a), {"default_value", "boolean"}));
  if (v.is_undefined() || (ArgBool(p[1], false) && !Truthy(v))) return p[0] ? *p[0] : Value::Str("");
  return v;
}

absl::StatusOr<Value> Items(Renderer& r, Value v, CallArgs a) {
  RTO_RETURN_IF_ERROR(Bind("items", std::move(a), {}).status());
  if (v.is_undefined()) return Value::List({});
  if (!v.is_dict()) return TypeError("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.dict().entries()) out.push_back(Value::Tuple({k, val}));
  return Value::List(std::move(out));
}

absl::StatusOr<Value> DictSort(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("dictsort", std::move(a), {"case_sensitive", "by", "reverse"}));
  const std::string by = p[1] ? ToStr(*p[1]) : "key";
  if (by != "key" && by != "value")
    return PyError("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
  if (v.is_undefined()) return r.UndefinedError(v);
  if (!v.is_dict())
    return PyError("AttributeError", absl::StrCat("'", TypeName(v), "' object has no attribute 'items'"));
  std::vector<Value> items, keys;
  for (const auto& [k, val] : v.dict().entries()) {
    items.push_back(Value::Tuple({k, val}));
    const Value& key = by == "key" ? k : val;
    keys.push_back(ArgBool(p[0], false) ? key : LowerIfStr(key));
  }
  RTO_ASSIGN_OR_RETURN(items, SortedItems(r, std::move(items), keys, ArgBool(p[2], false)));
  return Value::List(std::move(items));
}

// The key make_multi_attrgetter builds for sort: one value per comma-separated attribute.
absl::StatusOr<Value> SortKey(Renderer& r, const Value& item, const Opt& attribute, bool case_sensitive) {
  std::vector<Opt> attrs;
  if (attribute && attribute->is_str()) {
    for (absl::string_view part : absl::StrSplit(attribute->s(), ',')) attrs.push_back(Value::Str(std::string(part)));
  } else {
    attrs.push_back(attribute);
  }
  std::vector<Value> key;
  for (const Opt& attr : attrs) {
    RTO_ASSIGN_OR_RETURN(Value k, GetPath(r, item, attr, std::nullopt));
    key.push_back(case_sensitive ? k : LowerIfStr(k));
  }
  return Value::List(std::move(key));
}

absl::StatusOr<Value> Sort(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("sort", std::move(a), {"reverse", "case_sensitive", "attribute"}));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  std::vector<Value> keys;
  for (const Value& item : items) {
    RTO_ASSIGN_OR_RETURN(Value k, SortKey(r, item, p[2], ArgBool(p[1], false)));
    keys.push_back(std::move(k));
  }
  RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(items.size() * 8)));
  RTO_ASSIGN_OR_RETURN(items, SortedItems(r, std::move(items), keys, ArgBool(p[0], false)));
  return Value::List(std::move(items));
}

absl::StatusOr<Value> Unique(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("unique", std::move(a), {"case_sensitive", "attribute"}));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  std::vector<Value> seen, out;
  for (const Value& item : items) {
    RTO_ASSIGN_OR_RETURN(Value key, GetPath(r, item, p[1], std::nullopt));
    if (!ArgBool(p[0], false)) key = LowerIfStr(key);
    if (!Hashable(key)) return TypeError(absl::StrCat("unhashable type: '", TypeName(key), "'"));
    RTO_RETURN_IF_ERROR(r.Charge(static_cast<int64_t>(seen.size() / 16)));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return PyEquals(s, key); })) continue;
    seen.push_back(std::move(key));
    out.push_back(item);
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> MinMax(Renderer& r, Value v, CallArgs a, bool is_max) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind(is_max ? "max" : "min", std::move(a), {"case_sensitive", "attribute"}));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key;
  for (size_t i = 0; i < items.size(); ++i) {
    RTO_ASSIGN_OR_RETURN(Value key, GetPath(r, items[i], p[1], std::nullopt));
    if (!ArgBool(p[0], false)) key = LowerIfStr(key);
    if (i == 0) {
      best_key = std::move(key);
      continue;
    }
    RTO_ASSIGN_OR_RETURN(bool better, PyCompare(is_max ? ">" : "<", key, best_key));
    if (better) best = i, best_key = std::move(key);
  }
  return items[best];
}

absl::StatusOr<Value> Min(Renderer& r, Value v, CallArgs a) { return MinMax(r, std::move(v), std::move(a), false); }
absl::StatusOr<Value> Max(Renderer& r, Value v, CallArgs a) { return MinMax(r, std::move(v), std::move(a), true); }

absl::StatusOr<Value> Sum(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("sum", std::move(a), {"attribute", "start"}));
  Value total = p[1] ? *p[1] : Value::Int(0);
  if (total.is_str()) return TypeError("sum() can't sum strings [use ''.join(seq) instead]");
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  for (const Value& item : items) {
    RTO_ASSIGN_OR_RETURN(Value x, GetPath(r, item, p[0], std::nullopt));
    if (x.is_undefined()) return r.UndefinedError(x);
    if (total.is_undefined()) return r.UndefinedError(total);
    RTO_ASSIGN_OR_RETURN(total, Arith(r, BinOp::kAdd, total, x));
  }
  return total;
}

absl::StatusOr<Value> Batch(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("batch", std::move(a), {"linecount", "fill_with"}, 1));
  RTO_ASSIGN_OR_RETURN(int64_t count, ArgInt(p[0], 0));
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  std::vector<Value> out, tmp;
  for (Value& item : items) {
    if (static_cast<int64_t>(tmp.size()) == count) out.push_back(Value::List(std::move(tmp))), tmp.clear();
    tmp.push_back(std::move(item));
  }
  if (!tmp.empty()) {
    if (p[1] && !p[1]->is_none()) {
      while (static_cast<int64_t>(tmp.size()) < count) tmp.push_back(*p[1]);
    }
    out.push_back(Value::List(std::move(tmp)));
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> SliceFilter(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("slice", std::move(a), {"slices", "fill_with"}, 1));
  RTO_ASSIGN_OR_RETURN(int64_t slices, ArgInt(p[0], 1));
  if (slices <= 0) return PyError("ZeroDivisionError", "integer division or modulo by zero");
  RTO_ASSIGN_OR_RETURN(std::vector<Value> seq, r.Iterate(v));
  const int64_t length = static_cast<int64_t>(seq.size());
  const int64_t per = length / slices, extra = length % slices;
  RTO_RETURN_IF_ERROR(r.CheckListSize(static_cast<size_t>(slices)));
  std::vector<Value> out;
  int64_t offset = 0;
  for (int64_t n = 0; n < slices; ++n) {
    const int64_t start = offset + n * per;
    if (n < extra) ++offset;
    const int64_t end = offset + (n + 1) * per;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (p[1] && !p[1]->is_none() && n >= extra) part.push_back(*p[1]);
    out.push_back(Value::List(std::move(part)));
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> GroupBy(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("groupby", std::move(a), {"attribute", "default", "case_sensitive"}, 1));
  const bool case_sensitive = ArgBool(p[2], false);
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  std::vector<Value> keys;
  for (const Value& item : items) {
    RTO_ASSIGN_OR_RETURN(Value k, GetPath(r, item, p[0], p[1]));
    keys.push_back(case_sensitive ? k : LowerIfStr(k));
  }
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  RTO_RETURN_IF_ERROR(SortBy(r, &order, keys, false));
  std::vector<Value> groups;
  for (size_t i = 0; i < order.size();) {
    std::vector<Value> members;
    size_t j = i;
    for (; j < order.size() && PyEquals(keys[order[j]], keys[order[i]]); ++j) members.push_back(items[order[j]]);
    Value grouper = keys[order[i]];
    if (!case_sensitive) {
      RTO_ASSIGN_OR_RETURN(grouper, GetPath(r, members[0], p[0], p[1]));
    }
    groups.push_back(Value::Tuple({std::move(grouper), Value::List(std::move(members))}, SeqFlavor::kGroup));
    i = j;
  }
  return Value::List(std::move(groups));
}

absl::StatusOr<Value> Attr(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("attr", std::move(a), {"name"}, 1));
  if (v.is_undefined()) return r.UndefinedError(v);
  const std::string name = ToStr(*p[0]);
  RTO_ASSIGN_OR_RETURN(Value attr, r.GetAttr(v, name));
  if (v.is_dict() && v.dict().FindStr(name) != nullptr && !attr.is_object()) {
    return Value::Undefined(absl::StrCat("'dict object' has no attribute '", name, "'"));
  }
  return attr;
}

// select / reject / selectattr / rejectattr: the test named by the first (or second) argument,
// or truthiness without one.
absl::StatusOr<Value> SelectOrReject(Renderer& r, Value v, CallArgs a, bool select, bool by_attr) {
  std::vector<Value> out;
  if (!Truthy(v)) return Value::List({});
  Opt attr;
  size_t off = 0;
  if (by_attr) {
    if (a.positional.empty()) return PyError("FilterArgumentError", "Missing parameter for attribute name");
    attr = a.positional[0], off = 1;
  }
  std::optional<std::string> test;
  if (a.positional.size() > off) test = ToStr(a.positional[off]);
  CallArgs rest;
  if (a.positional.size() > off + 1) rest.positional.assign(a.positional.begin() + off + 1, a.positional.end());
  rest.keywords = a.keywords;
  if (test && TestSupport(*test) != Support::kSupported) {
    return PyError("TemplateRuntimeError", absl::StrCat("No test named ", ToRepr(Value::Str(*test)), " found."));
  }
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  for (const Value& item : items) {
    RTO_ASSIGN_OR_RETURN(Value x, GetPath(r, item, attr, std::nullopt));
    bool pass = Truthy(x);
    if (test) {
      RTO_ASSIGN_OR_RETURN(pass, ApplyTest(r, *test, x, rest));
    }
    if (pass == select) out.push_back(item);
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> Select(Renderer& r, Value v, CallArgs a) {
  return SelectOrReject(r, std::move(v), std::move(a), true, false);
}
absl::StatusOr<Value> Reject(Renderer& r, Value v, CallArgs a) {
  return SelectOrReject(r, std::move(v), std::move(a), false, false);
}
absl::StatusOr<Value> SelectAttr(Renderer& r, Value v, CallArgs a) {
  return SelectOrReject(r, std::move(v), std::move(a), true, true);
}
absl::StatusOr<Value> RejectAttr(Renderer& r, Value v, CallArgs a) {
  return SelectOrReject(r, std::move(v), std::move(a), false, true);
}

absl::StatusOr<Value> Map(Renderer& r, Value v, CallArgs a) {
  if (!Truthy(v)) return Value::List({});
  std::vector<Value> out;
  RTO_ASSIGN_OR_RETURN(std::vector<Value> items, r.Iterate(v));
  if (a.positional.empty() &&
      std::any_of(a.keywords.begin(), a.keywords.end(), [](auto& kv) { return kv.first == "attribute"; })) {
    RTO_ASSIGN_OR_RETURN(auto p, Bind("map", std::move(a), {"attribute", "default"}));
    for (const Value& item : items) {
      RTO_ASSIGN_OR_RETURN(Value x, GetPath(r, item, p[0], p[1]));
      out.push_back(std::move(x));
    }
    return Value::List(std::move(out));
  }
  if (a.positional.empty()) return PyError("FilterArgumentError", "map requires a filter argument");
  const std::string name = ToStr(a.positional[0]);
  if (FilterSupport(name) != Support::kSupported) {
    return PyError("TemplateRuntimeError", absl::StrCat("No filter named ", ToRepr(Value::Str(name)), " found."));
  }
  a.positional.erase(a.positional.begin());
  for (const Value& item : items) {
    RTO_ASSIGN_OR_RETURN(Value x, ApplyFilter(r, name, item, a));
    out.push_back(std::move(x));
  }
  return Value::List(std::move(out));
}

// ---- tojson: json.dumps(x, ensure_ascii, indent, separators, sort_keys) ----

struct JsonOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;
  std::string item_sep = ", ", key_sep = ": ";
  bool sort_keys = false;
};

absl::Status NotSerializable(const Value& v) {
  return TypeError(absl::StrCat("Object of type ", TypeName(v), " is not JSON serializable"));
}

absl::Status DumpJson(Renderer& r, const Value& v, const JsonOptions& o, int level, std::string* out);

void NewLine(const JsonOptions& o, int level, std::string* out) {
  if (!o.indent) return;
  out->push_back('\n');
  for (int i = 0; i < level; ++i) out->append(*o.indent);
}

absl::StatusOr<std::string> JsonKey(const Value& k) {
  switch (k.kind()) {
    case Kind::kString: return k.s();
    case Kind::kNone: return std::string("null");
    case Kind::kBool: return std::string(k.b() ? "true" : "false");
    case Kind::kInt: return absl::StrCat(k.i());
    case Kind::kFloat:
      if (std::isnan(k.f())) return std::string("NaN");
      if (std::isinf(k.f())) return std::string(k.f() > 0 ? "Infinity" : "-Infinity");
      return py::FloatRepr(k.f());
    default: return TypeError(absl::StrCat("keys must be str, int, float, bool or None, not ", TypeName(k)));
  }
}

absl::Status DumpObject(Renderer& r, const DictData& d, const JsonOptions& o, int level, std::string* out) {
  if (d.size() == 0) return out->append("{}"), absl::OkStatus();
  std::vector<size_t> order(d.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (o.sort_keys) {
    std::vector<Value> keys;
    for (const auto& kv : d.entries()) keys.push_back(kv.first);
    RTO_RETURN_IF_ERROR(SortBy(r, &order, keys, false));
  }
  out->push_back('{');
  for (size_t n = 0; n < order.size(); ++n) {
    const auto& [k, val] = d.entries()[order[n]];
    if (n > 0) out->append(o.item_sep);
    NewLine(o, level + 1, out);
    RTO_ASSIGN_OR_RETURN(std::string key, JsonKey(k));
    py::AppendJsonString(key, o.ensure_ascii, out);
    out->append(o.key_sep);
    RTO_RETURN_IF_ERROR(DumpJson(r, val, o, level + 1, out));
  }
  NewLine(o, level, out);
  out->push_back('}');
  return absl::OkStatus();
}

absl::Status DumpJson(Renderer& r, const Value& v, const JsonOptions& o, int level, std::string* out) {
  if (level > kMaxValueDepth + 64) return PyError("ValueError", "Circular reference detected");
  RTO_RETURN_IF_ERROR(r.Charge(1));
  RTO_RETURN_IF_ERROR(r.CheckStringSize(out->size()));
  switch (v.kind()) {
    case Kind::kNone: out->append("null"); return absl::OkStatus();
    case Kind::kBool: out->append(v.b() ? "true" : "false"); return absl::OkStatus();
    case Kind::kInt: absl::StrAppend(out, v.i()); return absl::OkStatus();
    case Kind::kFloat: {
      RTO_ASSIGN_OR_RETURN(std::string f, JsonKey(v));
      out->append(f);
      return absl::OkStatus();
    }
    case Kind::kString: py::AppendJsonString(v.s(), o.ensure_ascii, out); return absl::OkStatus();
    case Kind::kDict: return DumpObject(r, v.dict(), o, level, out);
    case Kind::kList:
      if (v.list().flavor != SeqFlavor::kPlain) return NotSerializable(v);
      break;
    case Kind::kTuple: break;
    default: return NotSerializable(v);
  }
  if (v.items().empty()) return out->append("[]"), absl::OkStatus();
  out->push_back('[');
  for (size_t i = 0; i < v.items().size(); ++i) {
    if (i > 0) out->append(o.item_sep);
    NewLine(o, level + 1, out);
    RTO_RETURN_IF_ERROR(DumpJson(r, v.items()[i], o, level + 1, out));
  }
  NewLine(o, level, out);
  out->push_back(']');
  return absl::OkStatus();
}

absl::StatusOr<Value> ToJson(Renderer& r, Value v, CallArgs a) {
  RTO_ASSIGN_OR_RETURN(auto p, Bind("tojson", std::move(a), {"ensure_ascii", "indent", "separators", "sort_keys"}));
  JsonOptions o;
  o.ensure_ascii = ArgBool(p[0], false);
  o.sort_keys = ArgBool(p[3], false);
  if (p[1] && !p[1]->is_none()) {
    if (p[1]->is_str()) {
      o.indent = p[1]->s();
    } else {
      RTO_ASSIGN_OR_RETURN(int64_t n, ArgInt(p[1], 0));
      RTO_RETURN_IF_ERROR(r.CheckStringSize(static_cast<size_t>(std::max<int64_t>(n, 0))));
      o.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    }
    o.item_sep = ",";
  }
  if (p[2] && !p[2]->is_none()) {
    if (!p[2]->is_seq() || p[2]->items().size() != 2)
      return PyError("ValueError", "separators must be a pair of strings");
    o.item_sep = ToStr(p[2]->items()[0]);
    o.key_sep = ToStr(p[2]->items()[1]);
  }
  std::string out;
  RTO_RETURN_IF_ERROR(DumpJson(r, v, o, 0, &out));
  return r.MakeStr(std::move(out));
}

const std::map<absl::string_view, FilterFn>& Filters() {
  static const auto* filters = new std::map<absl::string_view, FilterFn>{
      {"abs", Abs},
      {"attr", Attr},
      {"batch", Batch},
      {"capitalize", Capitalize},
      {"center", Center},
      {"count", Length},
      {"d", Default},
      {"default", Default},
      {"dictsort", DictSort},
      {"e", Escape},
      {"escape", Escape},
      {"first", First},
      {"float", FloatFilter},
      {"forceescape", ForceEscape},
      {"format", Format},
      {"groupby", GroupBy},
      {"indent", Indent},
      {"int", IntFilter},
      {"items", Items},
      {"join", Join},
      {"last", Last},
      {"length", Length},
      {"list", ListFilter},
      {"lower", Lower},
      {"map", Map},
      {"max", Max},
      {"min", Min},
      {"reject", Reject},
      {"rejectattr", RejectAttr},
      {"replace", Replace},
      {"reverse", Reverse},
      {"round", Round},
      {"safe", Safe},
      {"select", Select},
      {"selectattr", SelectAttr},
      {"slice", SliceFilter},
      {"sort", Sort},
      {"string", StringFilter},
      {"sum", Sum},
      {"title", Title},
      {"tojson", ToJson},
      {"trim", Trim},
      {"truncate", Truncate},
      {"unique", Unique},
      {"upper", Upper},
      {"wordcount", WordCount},
  };
  return *filters;
}

// ---- tests ----

absl::StatusOr<bool> ModuloIs(Renderer& r, const Value& v, const Value& divisor, int64_t expected) {
  if (v.is_undefined()) return r.UndefinedError(v);
  if (divisor.is_undefined()) return r.UndefinedError(divisor);
  RTO_ASSIGN_OR_RETURN(Value m, Arith(r, BinOp::kMod, v, divisor));
  return PyEquals(m, Value::Int(expected));
}

bool IsSequence(const Value& v) {
  if (v.is_undefined() || v.is_str() || v.is_dict()) return true;
  if (!v.is_seq()) return false;
  const SeqFlavor f = v.list().flavor;
  return f == SeqFlavor::kPlain || f == SeqFlavor::kRange || f == SeqFlavor::kGroup;
}

bool IsIterable(const Value& v) {
  if (v.is_object()) return v.obj()->TypeName() == "LoopContext";
  return v.is_undefined() || v.is_str() || v.is_seq() || v.is_dict();
}

bool IsCallable(const Value& v) { return v.is_undefined() || (v.is_object() && v.obj()->IsCallable()); }

bool StrCase(const Value& v, bool upper) {
  bool cased = false;
  for (char32_t c : py::Decode(ToStr(v))) {
    if (upper ? py::IsLowerChar(c) : py::IsUpperChar(c)) return false;
    cased |= upper ? py::IsUpperChar(c) : py::IsLowerChar(c);
  }
  return cased;
}

absl::StatusOr<bool> CompareTest(absl::string_view name, const Value& v, const Value& other, const Renderer& r) {
  if (name == "==" || name == "eq" || name == "equalto") return PyEquals(v, other);
  if (name == "!=" || name == "ne") return !PyEquals(v, other);
  if (v.is_undefined()) return r.UndefinedError(v);
  if (other.is_undefined()) return r.UndefinedError(other);
  if (name == ">" || name == "gt" || name == "greaterthan") return PyCompare(">", v, other);
  if (name == ">=" || name == "ge") return PyCompare(">=", v, other);
  if (name == "<" || name == "lt" || name == "lessthan") return PyCompare("<", v, other);
  return PyCompare("<=", v, other);
}

const std::set<absl::string_view>& TestNames() {
  static const auto* names = new std::set<absl::string_view>{
      "odd",     "even",   "divisibleby", "defined",  "undefined", "filter", "test",    "none",
      "boolean", "false",  "true",        "integer",  "float",     "lower",  "upper",   "string",
      "mapping", "number", "sequence",    "iterable", "callable",  "sameas", "escaped", "in",
      "==",      "eq",     "equalto",     "!=",       "ne",        ">",      "gt",      "greaterthan",
      "ge",      ">=",     "<",           "lt",       "lessthan",  "<=",     "le"};
  return *names;
}

absl::StatusOr<bool> OneArgTest(Renderer& r, absl::string_view name, const Value& v, const Value& arg) {
  if (name == "divisibleby") return ModuloIs(r, v, arg, 0);
  if (name == "sameas") return v.SameObject(arg);
  if (name == "in") return Contains(arg, v);
  return CompareTest(name, v, arg, r);
}

}  // namespace

absl::StatusOr<std::vector<std::optional<Value>>> Bind(absl::string_view fn, CallArgs args,
                                                       std::initializer_list<absl::string_view> params,
                                                       size_t required) {
  const std::vector<absl::string_view> names(params);
  if (args.positional.size() > names.size()) {
    return TypeError(
        absl::StrCat(fn, "() takes at most ", names.size(), " argument(s) (", args.positional.size(), " given)"));
  }
  std::vector<std::optional<Value>> out(names.size());
  for (size_t i = 0; i < args.positional.size(); ++i) out[i] = std::move(args.positional[i]);
  for (auto& [k, v] : args.keywords) {
    const auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end()) return TypeError(absl::StrCat(fn, "() got an unexpected keyword argument '", k, "'"));
    std::optional<Value>& slot = out[it - names.begin()];
    if (slot) return TypeError(absl::StrCat(fn, "() got multiple values for argument '", k, "'"));
    slot = std::move(v);
  }
  for (size_t i = 0; i < required; ++i) {
    if (!out[i]) return TypeError(absl::StrCat(fn, "() missing required argument: '", names[i], "'"));
  }
  return out;
}

Support FilterSupport(absl::string_view name) {
  if (Filters().count(name) > 0) return Support::kSupported;
  static const std::set<absl::string_view> kUnsupported = {"filesizeformat", "pprint", "random",   "striptags",
                                                           "urlencode",      "urlize", "wordwrap", "xmlattr"};
  return kUnsupported.count(name) > 0 ? Support::kUnsupported : Support::kUnknown;
}

Support TestSupport(absl::string_view name) {
  return TestNames().count(name) > 0 ? Support::kSupported : Support::kUnknown;
}

absl::StatusOr<Value> ApplyFilter(Renderer& r, absl::string_view name, Value value, CallArgs args) {
  const auto it = Filters().find(name);
  if (it == Filters().end())
    return PyError("TemplateRuntimeError", absl::StrCat("No filter named '", name, "' found."));
  return it->second(r, std::move(value), std::move(args));
}

absl::StatusOr<bool> ApplyTest(Renderer& r, absl::string_view name, const Value& v, CallArgs args) {
  static const std::set<absl::string_view> kOneArg = {
      "divisibleby", "sameas",      "in", "==", "eq", "equalto", "!=",       "ne", ">",
      "gt",          "greaterthan", "ge", ">=", "<",  "lt",      "lessthan", "<=", "le"};
  if (kOneArg.count(name) > 0) {
    RTO_ASSIGN_OR_RETURN(auto p, Bind(name, std::move(args), {"other"}, 1));
    return OneArgTest(r, name, v, *p[0]);
  }
  RTO_RETURN_IF_ERROR(Bind(name, std::move(args), {}).status());
  if (name == "odd" || name == "even") return ModuloIs(r, v, Value::Int(2), name == "odd" ? 1 : 0);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind() == Kind::kBool;
  if (name == "false") return v.kind() == Kind::kBool && !v.b();
  if (name == "true") return v.kind() == Kind::kBool && v.b();
  if (name == "integer") return v.kind() == Kind::kInt;
  if (name == "float") return v.kind() == Kind::kFloat;
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_str();
  if (name == "mapping") return v.is_dict();
  if (name == "sequence") return IsSequence(v);
  if (name == "iterable") return IsIterable(v);
  if (name == "callable") return IsCallable(v);
  if (name == "escaped") return v.is_str() && v.markup();
  if (name == "lower" || name == "upper") return StrCase(v, name == "upper");
  if (name == "filter") return v.is_str() && FilterSupport(v.s()) != Support::kUnknown;
  if (name == "test") return v.is_str() && TestSupport(v.s()) != Support::kUnknown;
  return PyError("TemplateRuntimeError", absl::StrCat("No test named '", name, "' found."));
}

}  // namespace rto::jinja
