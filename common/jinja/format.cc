// Python's string formatting: `fmt % args` (printf-style: s r a d i u o x X e E f F g G c %,
// with flags, width, precision and %(name)s) and str.format (auto and numbered fields, keyword
// fields, .attr and [key] lookups through the sandbox, !s !r !a, and the format-spec mini-language
// with one level of fields in specs, without the 'n' and 'z' options).
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/jinja/builtins.h"
#include "common/jinja/ops.h"
#include "common/jinja/pystr.h"
#include "common/jinja/render.h"
#include "common/util/status_macros.h"

namespace rto::jinja {
namespace {

struct Spec {
  char32_t fill = ' ';
  char align = 0;  // '<', '>', '^', '=' or 0 for the type's default
  char sign = '-';
  bool alt = false;
  bool zero = false;
  int64_t width = -1;
  int64_t precision = -1;
  char grouping = 0;
  char type = 0;
};

std::string Group(const std::string& digits, char sep, size_t every) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % every == 0) out.push_back(sep);
    out.push_back(digits[i]);
  }
  return out;
}

// Pads `lead` (sign and prefix) + `body` to the spec's width; '=' pads between them.
absl::StatusOr<std::string> Pad(Renderer& r, const std::string& lead, const std::string& body, const Spec& s,
                                char default_align) {
  const int64_t len = static_cast<int64_t>(py::Length(lead) + py::Length(body));
  const char align = s.align ? s.align : (s.zero ? '=' : default_align);
  if (s.width <= len) return lead + body;
  RTO_RETURN_IF_ERROR(r.CheckStringSize(static_cast<size_t>(s.width) * 4));
  const char32_t fill = s.zero && !s.align ? U'0' : s.fill;
  auto run = [fill](int64_t n) { return py::Encode(std::u32string(static_cast<size_t>(n), fill)); };
  const int64_t n = s.width - len;
  switch (align) {
    case '<': return lead + body + run(n);
    case '^': return run(n / 2) + lead + body + run(n - n / 2);
    case '=': return lead + run(n) + body;
    default: return run(n) + lead + body;
  }
}

std::string SignOf(bool negative, char sign) {
  if (negative) return "-";
  return sign == '+' ? "+" : sign == ' ' ? " " : "";
}

absl::StatusOr<std::string> FormatInt(Renderer& r, int64_t v, const Spec& s) {
  const char type = s.type ? s.type : 'd';
  if (type == 'c') {
    if (v < 0 || v > 0x10FFFF) return PyError("OverflowError", "%c arg not in range(0x110000)");
    std::string c;
    py::AppendUtf8(static_cast<char32_t>(v), &c);
    return Pad(r, "", c, s, '>');
  }
  const unsigned __int128 mag = v < 0 ? -static_cast<__int128>(v) : v;
  const int base = type == 'x' || type == 'X' ? 16 : type == 'o' ? 8 : type == 'b' ? 2 : 10;
  std::string digits;
  for (unsigned __int128 m = mag; m > 0 || digits.empty(); m /= base) {
    digits.insert(digits.begin(), "0123456789abcdef"[static_cast<int>(m % base)]);
  }
  if (type == 'X') digits = py::Upper(digits);
  if (s.precision > static_cast<int64_t>(digits.size())) digits.insert(0, s.precision - digits.size(), '0');
  if (s.grouping) digits = Group(digits, s.grouping, base == 10 ? 3 : 4);
  std::string lead = SignOf(v < 0, s.sign);
  if (s.alt && base != 10) lead += type == 'X' ? "0X" : type == 'x' ? "0x" : type == 'o' ? "0o" : "0b";
  return Pad(r, lead, digits, s, '>');
}

absl::StatusOr<std::string> FormatFloat(Renderer& r, double v, Spec s) {
  std::string body;
  const bool negative = std::signbit(v) && !std::isnan(v);
  const double mag = std::fabs(v);
  char type = s.type;
  if (type == 0 && s.precision < 0) {
    body = py::FloatRepr(mag);
  } else {
    const bool percent = type == '%';
    const char c = type == 0 ? 'g' : percent ? 'f' : type;
    const int precision = static_cast<int>(std::min<int64_t>(s.precision < 0 ? 6 : s.precision, 300));
    const std::string fmt = absl::StrCat("%", s.alt ? "#" : "", ".", precision, std::string(1, c));
    char buf[512];
    std::snprintf(buf, sizeof(buf), fmt.c_str(), percent ? mag * 100 : mag);
    body = buf;
    if (type == 0 && body.find_first_of(".en") == std::string::npos) body += ".0";
    if (percent) body += "%";
  }
  if (s.grouping) {
    const size_t end = std::min(body.find_first_not_of("0123456789"), body.size());
    body = Group(body.substr(0, end), s.grouping, 3) + body.substr(end);
  }
  return Pad(r, SignOf(negative, s.sign), body, s, '>');
}

absl::StatusOr<std::string> FormatText(Renderer& r, const std::string& text, const Spec& s) {
  std::string body = text;
  if (s.precision >= 0) body = py::Encode(py::Decode(text).substr(0, static_cast<size_t>(s.precision)));
  Spec plain = s;
  plain.zero = false;
  if (s.zero && !s.align) plain.fill = '0', plain.align = '<';
  return Pad(r, "", body, plain, '<');
}

// ---- str.format's format spec ----

absl::StatusOr<Spec> ParseSpec(absl::string_view text) {
  Spec s;
  const std::u32string u = py::Decode(text);
  size_t i = 0;
  auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (u.size() >= 2 && is_align(u[1])) {
    s.fill = u[0], s.align = static_cast<char>(u[1]), i = 2;
  } else if (!u.empty() && is_align(u[0])) {
    s.align = static_cast<char>(u[0]), i = 1;
  }
  if (i < u.size() && (u[i] == '+' || u[i] == '-' || u[i] == ' ')) s.sign = static_cast<char>(u[i++]);
  if (i < u.size() && u[i] == '#') s.alt = true, ++i;
  if (i < u.size() && u[i] == '0') s.zero = true, ++i;
  auto digits = [&](int64_t* out) {
    const size_t start = i;
    int64_t v = 0;
    while (i < u.size() && u[i] >= '0' && u[i] <= '9' && v < (int64_t{1} << 40)) v = v * 10 + (u[i++] - '0');
    if (i > start) *out = v;
    return i > start;
  };
  digits(&s.width);
  if (i < u.size() && (u[i] == ',' || u[i] == '_')) s.grouping = static_cast<char>(u[i++]);
  if (i < u.size() && u[i] == '.') {
    ++i;
    if (!digits(&s.precision)) return PyError("ValueError", "Format specifier missing precision");
  }
  if (i < u.size()) s.type = static_cast<char>(u[i++]);
  if (i < u.size()) return PyError("ValueError", "Invalid format specifier");
  return s;
}

absl::StatusOr<std::string> ApplySpec(Renderer& r, const Value& v, absl::string_view spec_text) {
  if (spec_text.empty()) return ToStr(v);
  RTO_ASSIGN_OR_RETURN(Spec s, ParseSpec(spec_text));
  const std::string type_name = TypeName(v);
  auto unknown = [&] {
    return PyError("ValueError", absl::StrCat("Unknown format code '", std::string(1, s.type), "' for object of type '",
                                              type_name, "'"));
  };
  if (v.is_str()) {
    if (s.type != 0 && s.type != 's') return unknown();
    if (s.sign != '-') return PyError("ValueError", "Sign not allowed in string format specifier");
    if (s.alt) return PyError("ValueError", "Alternate form (#) not allowed in string format specifier");
    if (s.align == '=') return PyError("ValueError", "'=' alignment not allowed in string format specifier");
    return FormatText(r, v.s(), s);
  }
  const bool float_type = s.type != 0 && std::string("eEfFgG%").find(s.type) != std::string::npos;
  if (v.kind() == Kind::kInt || v.kind() == Kind::kBool) {
    if (float_type) return FormatFloat(r, static_cast<double>(v.i()), s);
    if (s.type != 0 && std::string("bcdoxX").find(s.type) == std::string::npos) return unknown();
    if (s.precision >= 0) return PyError("ValueError", "Precision not allowed in integer format specifier");
    return FormatInt(r, v.i(), s);
  }
  if (v.kind() == Kind::kFloat) {
    if (s.type != 0 && !float_type) return unknown();
    return FormatFloat(r, v.f(), s);
  }
  return TypeError(absl::StrCat("unsupported format string passed to ", type_name, ".__format__"));
}

// ---- printf-style ----

struct PercentState {
  absl::string_view fmt;
  size_t i = 0;
  const std::vector<Value>* items = nullptr;
  const Value* mapping = nullptr;
  size_t next = 0;
};

absl::StatusOr<Value> NextArg(PercentState& st) {
  if (st.next >= st.items->size()) return TypeError("not enough arguments for format string");
  return (*st.items)[st.next++];
}

absl::StatusOr<Value> MappedArg(Renderer& r, PercentState& st) {
  int depth = 1;
  const size_t start = ++st.i;
  while (st.i < st.fmt.size() && depth > 0) {
    if (st.fmt[st.i] == '(') ++depth;
    if (st.fmt[st.i] == ')') --depth;
    ++st.i;
  }
  if (depth > 0) return PyError("ValueError", "incomplete format key");
  if (st.mapping == nullptr) return TypeError("format requires a mapping");
  const Value key = Value::Str(std::string(st.fmt.substr(start, st.i - start - 1)));
  if (!st.mapping->is_dict()) return r.GetItem(*st.mapping, key);
  const Value* v = st.mapping->dict().Find(key);
  if (v == nullptr) return PyError("KeyError", ToRepr(key));
  return *v;
}

absl::Status ParseFlags(PercentState& st, Spec* s) {
  for (; st.i < st.fmt.size(); ++st.i) {
    const char c = st.fmt[st.i];
    if (c == '-') {
      s->align = '<';
    } else if (c == '0') {
      s->zero = true;
    } else if (c == '+' || (c == ' ' && s->sign != '+')) {
      s->sign = c;
    } else if (c == '#') {
      s->alt = true;
    } else if (c != ' ') {
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> StarOrDigits(PercentState& st, int64_t def) {
  if (st.i < st.fmt.size() && st.fmt[st.i] == '*') {
    ++st.i;
    RTO_ASSIGN_OR_RETURN(Value v, NextArg(st));
    if (std::optional<int64_t> n = AsIndex(v)) return *n;
    return TypeError("* wants int");
  }
  int64_t v = def;
  bool any = false;
  for (; st.i < st.fmt.size() && st.fmt[st.i] >= '0' && st.fmt[st.i] <= '9'; ++st.i) {
    v = (any ? v : 0) * 10 + (st.fmt[st.i] - '0');
    any = true;
    if (v > (int64_t{1} << 40)) return PyError("ValueError", "width too big");
  }
  return v;
}

absl::StatusOr<std::string> PercentValue(Renderer& r, const Value& v, Spec s, size_t at) {
  const char c = s.type;
  if (c == 's' || c == 'r' || c == 'a') return FormatText(r, c == 's' ? ToStr(v) : ToRepr(v), s);
  if (c == 'c') {
    if (v.is_str() && py::Length(v.s()) == 1) return FormatText(r, v.s(), s);
    if (!AsIndex(v)) return TypeError("%c requires int or char");
    s.type = 'c';
    return FormatInt(r, *AsIndex(v), s);
  }
  const bool int_conv = c == 'd' || c == 'i' || c == 'u';
  if (int_conv || c == 'o' || c == 'x' || c == 'X') {
    if (v.kind() == Kind::kFloat && int_conv) {
      if (!std::isfinite(v.f())) return PyError("ValueError", "cannot convert float NaN or infinity to integer");
      s.type = 'd';
      return FormatInt(r, static_cast<int64_t>(v.f()), s);
    }
    if (!AsIndex(v)) {
      return TypeError(absl::StrCat("%", std::string(1, c), " format: ", int_conv ? "a real number" : "an integer",
                                    " is required, not ", TypeName(v)));
    }
    s.type = int_conv ? 'd' : c;
    return FormatInt(r, *AsIndex(v), s);
  }
  if (std::string("eEfFgG").find(c) != std::string::npos) {
    if (!v.is_number()) return TypeError(absl::StrCat("must be real number, not ", TypeName(v)));
    if (s.precision < 0) s.precision = 6;
    return FormatFloat(r, v.f(), s);
  }
  return PyError("ValueError", absl::StrCat("unsupported format character '", std::string(1, c), "' (0x",
                                            absl::Hex(static_cast<unsigned char>(c)), ") at index ", at));
}

absl::StatusOr<std::string> PercentOne(Renderer& r, PercentState& st) {
  ++st.i;  // the '%'
  std::optional<Value> mapped;
  if (st.i < st.fmt.size() && st.fmt[st.i] == '(') {
    RTO_ASSIGN_OR_RETURN(mapped, MappedArg(r, st));
  }
  Spec s;
  RTO_RETURN_IF_ERROR(ParseFlags(st, &s));
  RTO_ASSIGN_OR_RETURN(s.width, StarOrDigits(st, -1));
  if (s.width < 0 && s.width != -1) s.align = '<', s.width = -s.width;
  if (st.i < st.fmt.size() && st.fmt[st.i] == '.') {
    ++st.i;
    RTO_ASSIGN_OR_RETURN(s.precision, StarOrDigits(st, 0));
  }
  while (st.i < st.fmt.size() && (st.fmt[st.i] == 'h' || st.fmt[st.i] == 'l' || st.fmt[st.i] == 'L')) ++st.i;
  if (st.i >= st.fmt.size()) return PyError("ValueError", "incomplete format");
  const size_t type_at = st.i;
  s.type = st.fmt[st.i++];
  if (s.type == '%') return std::string("%");
  if (s.align == '<') s.zero = false;
  if (!mapped) {
    RTO_ASSIGN_OR_RETURN(mapped, NextArg(st));
  }
  return PercentValue(r, *mapped, s, type_at);
}

// ---- str.format fields ----

struct BraceState {
  const CallArgs* args = nullptr;
  size_t auto_index = 0;
  int mode = 0;  // 0 unknown, 1 automatic numbering, 2 manual
};

absl::StatusOr<Value> FieldValue(Renderer& r, absl::string_view name, BraceState& st) {
  const size_t end = std::min(name.find_first_of(".["), name.size());
  const absl::string_view first = name.substr(0, end);
  Value v;
  const bool numeric = !first.empty() && first.find_first_not_of("0123456789") == absl::string_view::npos;
  if (first.empty() || numeric) {
    const int mode = first.empty() ? 1 : 2;
    if (st.mode != 0 && st.mode != mode) {
      return PyError("ValueError", mode == 1
                                       ? "cannot switch from manual field specification to automatic field numbering"
                                       : "cannot switch from automatic field numbering to manual field specification");
    }
    st.mode = mode;
    const size_t index = first.empty() ? st.auto_index++ : std::stoul(std::string(first.substr(0, 9)));
    if (index >= st.args->positional.size()) {
      return PyError("IndexError",
                     absl::StrCat("Replacement index ", index, " out of range for positional args tuple"));
    }
    v = st.args->positional[index];
  } else {
    const auto it = std::find_if(st.args->keywords.begin(), st.args->keywords.end(),
                                 [&](const auto& kv) { return kv.first == first; });
    if (it == st.args->keywords.end()) return PyError("KeyError", ToRepr(Value::Str(std::string(first))));
    v = it->second;
  }
  for (size_t i = end; i < name.size();) {
    const bool attr = name[i] == '.';
    const size_t stop = attr ? std::min(name.find_first_of(".[", i + 1), name.size()) : name.find(']', i);
    if (stop == absl::string_view::npos) return PyError("ValueError", "Missing ']' in format string");
    const std::string part(name.substr(i + 1, stop - i - 1));
    const bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos && part.size() < 18;
    if (attr) {
      RTO_ASSIGN_OR_RETURN(v, r.GetAttr(v, part));
    } else {
      RTO_ASSIGN_OR_RETURN(v, r.GetItem(v, digits ? Value::Int(std::stoll(part)) : Value::Str(part)));
    }
    i = attr ? stop : stop + 1;
  }
  return v;
}

absl::StatusOr<std::string> FormatFields(Renderer& r, absl::string_view fmt, BraceState& st, int depth);

absl::StatusOr<std::string> FormatField(Renderer& r, absl::string_view field, BraceState& st, int depth) {
  size_t split = 0;
  for (int bracket = 0; split < field.size(); ++split) {
    if (field[split] == '[') ++bracket;
    if (field[split] == ']') --bracket;
    if (bracket == 0 && (field[split] == '!' || field[split] == ':')) break;
  }
  RTO_ASSIGN_OR_RETURN(Value v, FieldValue(r, field.substr(0, split), st));
  absl::string_view rest = field.substr(split);
  if (!rest.empty() && rest[0] == '!') {
    if (rest.size() < 2 || (rest.size() > 2 && rest[2] != ':')) {
      return PyError("ValueError", "expected ':' after conversion specifier");
    }
    const char conv = rest[1];
    if (conv != 's' && conv != 'r' && conv != 'a') {
      return PyError("ValueError", absl::StrCat("Unknown conversion specifier ", std::string(1, conv)));
    }
    v = Value::Str(conv == 's' ? ToStr(v) : ToRepr(v));
    rest = rest.substr(2);
  }
  const absl::string_view spec = rest.empty() ? rest : rest.substr(1);
  if (spec.find('{') == absl::string_view::npos) return ApplySpec(r, v, spec);
  if (depth > 0) return PyError("ValueError", "Max string recursion exceeded");
  RTO_ASSIGN_OR_RETURN(std::string expanded, FormatFields(r, spec, st, depth + 1));  // "{0:{1}}": the spec has fields
  return ApplySpec(r, v, expanded);
}

absl::StatusOr<std::string> FormatFields(Renderer& r, absl::string_view fmt, BraceState& st, int depth) {
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 >= fmt.size() || fmt[i + 1] != '}')
        return PyError("ValueError", "Single '}' encountered in format string");
      out += '}', ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{', ++i;
      continue;
    }
    size_t j = i + 1;
    for (int nest = 1; j < fmt.size(); ++j) {
      if (fmt[j] == '{') ++nest;
      if (fmt[j] == '}' && --nest == 0) break;
    }
    if (j >= fmt.size()) return PyError("ValueError", "expected '}' before end of string");
    RTO_ASSIGN_OR_RETURN(std::string piece, FormatField(r, fmt.substr(i + 1, j - i - 1), st, depth));
    RTO_RETURN_IF_ERROR(r.CheckStringSize(out.size() + piece.size()));
    out += piece;
    i = j;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> PercentFormat(Renderer& r, absl::string_view fmt, const Value& args) {
  std::vector<Value> single;
  PercentState st;
  st.fmt = fmt;
  if (args.kind() == Kind::kTuple) {
    st.items = &args.items();
  } else {
    single.push_back(args);
    st.items = &single;
    // Python treats anything with __getitem__ as a mapping here (so no "not all arguments converted").
    if (args.is_dict() || args.kind() == Kind::kList || args.is_undefined()) st.mapping = &args;
  }
  std::string out;
  while (st.i < fmt.size()) {
    const size_t pct = fmt.find('%', st.i);
    absl::StrAppend(&out, fmt.substr(st.i, std::min(pct, fmt.size()) - st.i));
    if (pct == absl::string_view::npos) break;
    st.i = pct;
    RTO_ASSIGN_OR_RETURN(std::string piece, PercentOne(r, st));
    RTO_RETURN_IF_ERROR(r.CheckStringSize(out.size() + piece.size()));
    out += piece;
  }
  if (st.mapping == nullptr && st.next < st.items->size()) {
    return TypeError("not all arguments converted during string formatting");
  }
  return out;
}

absl::StatusOr<std::string> BraceFormat(Renderer& r, absl::string_view fmt, const CallArgs& args) {
  BraceState st;
  st.args = &args;
  return FormatFields(r, fmt, st, 0);
}

}  // namespace rto::jinja
