#include "common/jinja/pystr.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace rto::jinja::py {
namespace {

// Decodes one code point at s[*i], advancing *i; an invalid or truncated sequence yields the
// surrogate-escaped first byte.
char32_t DecodeOne(absl::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07;
  }
  if (len == 0 || *i + len > s.size()) {
    ++*i;
    return 0xDC00 + b0;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return 0xDC00 + b0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return 0xDC00 + b0;
  }
  *i += len;
  return cp;
}

// A pair range where one parity is the upper case letter and the next code point its lower.
struct PairRange {
  char32_t lo, hi;
  bool even_upper;
};
constexpr PairRange kPairs[] = {
    {0x0100, 0x012F, true},  {0x0132, 0x0137, true}, {0x0139, 0x0148, false}, {0x014A, 0x0177, true},
    {0x0179, 0x017E, false}, {0x0460, 0x0481, true}, {0x048A, 0x04BF, true},  {0x04C1, 0x04CE, false},
    {0x04D0, 0x052F, true},  {0x1E00, 0x1E95, true}, {0x1EA0, 0x1EFF, true},  {0x01CD, 0x01DC, false},
    {0x01DE, 0x01EF, true},  {0x01F4, 0x01F5, true}, {0x01F8, 0x021F, true},  {0x0222, 0x0233, true},
    {0x0246, 0x024F, true},  {0x03D8, 0x03EF, true},
};

// The Latin digraphs: upper, title and lower case forms in a row (U+01C4 DŽ, Dž, dž ...).
bool Digraph(char32_t c, char32_t* upper, char32_t* lower) {
  for (char32_t base : {0x01C4, 0x01C7, 0x01CA, 0x01F1}) {
    if (c >= base && c <= base + 2) {
      *upper = base, *lower = base + 2;
      return true;
    }
  }
  return false;
}

// An offset range: [lo, hi] are upper case letters whose lower case is c + delta.
struct OffsetRange {
  char32_t lo, hi;
  int delta;
};
constexpr OffsetRange kOffsets[] = {
    {'A', 'Z', 32},       {0x00C0, 0x00D6, 32}, {0x00D8, 0x00DE, 32},   {0x0391, 0x03A1, 32},
    {0x03A3, 0x03AB, 32}, {0x0388, 0x038A, 37}, {0x0386, 0x0386, 38},   {0x038C, 0x038C, 64},
    {0x038E, 0x038F, 63}, {0x0410, 0x042F, 32}, {0x0400, 0x040F, 80},   {0x0531, 0x0556, 48},
    {0xFF21, 0xFF3A, 32}, {0x04C0, 0x04C0, 15}, {0x0178, 0x0178, -121}, {0x1E9E, 0x1E9E, -7615},
};

// The simple lower case of c, or c.
char32_t SimpleLower(char32_t c) {
  if (char32_t up, low; Digraph(c, &up, &low)) return low;
  for (const auto& r : kOffsets) {
    if (c >= r.lo && c <= r.hi) return c + r.delta;
  }
  for (const auto& r : kPairs) {
    if (c >= r.lo && c <= r.hi && ((c % 2 == 0) == r.even_upper)) return c + 1;
  }
  return c;
}

// The simple upper case of c, or c.
char32_t SimpleUpper(char32_t c) {
  if (c == 0x00B5) return 0x039C;
  if (c == 0x00FF) return 0x0178;
  if (c == 0x0131) return 'I';
  if (c == 0x017F) return 'S';
  if (c == 0x03C2) return 0x03A3;
  if (c == 0x00DF || c == 0x1E9E) return c;  // ß has no one-code-point upper case
  if (char32_t up, low; Digraph(c, &up, &low)) return up;
  for (const auto& r : kOffsets) {
    const char32_t lo = r.lo + r.delta, hi = r.hi + r.delta;
    if (r.lo == 0x0178 || r.lo == 0x1E9E) continue;  // their lower cases map back above
    if (c >= lo && c <= hi) return c - r.delta;
  }
  for (const auto& r : kPairs) {
    if (c >= r.lo && c <= r.hi && ((c % 2 == 0) != r.even_upper)) return c - 1;
  }
  return c;
}

// The ligatures U+FB00..FB06 (ff fi fl ffi ffl ſt st), whose upper cases are letter pairs.
constexpr const char32_t* kLigatures[] = {U"ff", U"fi", U"fl", U"ffi", U"ffl", U"st", U"st"};

void AppendUpper(char32_t c, std::u32string* out) {
  if (c >= 0xFB00 && c <= 0xFB06) {
    for (const char32_t* p = kLigatures[c - 0xFB00]; *p != 0; ++p) out->push_back(*p - 32);
  } else if (c == 0x00DF) {
    out->append(U"SS");
  } else if (c == 0x0149) {
    out->append(U"\u02BCN");
  } else {
    out->push_back(SimpleUpper(c));
  }
}

// The title case of c: the first letter of a word (str.title, str.capitalize).
void AppendTitle(char32_t c, std::u32string* out) {
  if (c == 0x00DF) {
    out->append(U"Ss");
  } else if (c >= 0xFB00 && c <= 0xFB06) {
    const char32_t* p = kLigatures[c - 0xFB00];
    out->push_back(*p - 32);
    out->append(p + 1);
  } else if (char32_t up, low; Digraph(c, &up, &low)) {
    out->push_back(up + 1);
  } else {
    AppendUpper(c, out);
  }
}

void AppendLower(char32_t c, std::u32string* out) {
  if (c == 0x0130) {
    out->append(U"i\u0307");
  } else {
    out->push_back(SimpleLower(c));
  }
}

bool InRanges(char32_t c, std::initializer_list<std::pair<char32_t, char32_t>> ranges) {
  for (const auto& [lo, hi] : ranges) {
    if (c >= lo && c <= hi) return true;
  }
  return false;
}

// Python's final sigma rule for lower(): a capital sigma after a cased letter and not before one.
bool FinalSigma(const std::u32string& u, size_t i) {
  if (i == 0 || !IsCased(u[i - 1])) return false;
  return i + 1 >= u.size() || !IsCased(u[i + 1]);
}

void AppendHex(char32_t c, int digits, std::string* out) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%0*x", digits, static_cast<unsigned>(c));
  out->append(buf);
}

}  // namespace

std::u32string Decode(absl::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(DecodeOne(s, &i));
  return out;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c >= 0xDC80 && c <= 0xDCFF) {
    out->push_back(static_cast<char>(c - 0xDC00));  // a surrogate-escaped byte goes back as itself
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string Encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) AppendUtf8(c, &out);
  return out;
}

size_t Length(absl::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) DecodeOne(s, &i);
  return n;
}

bool IsSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool IsLineBreak(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) || c == 0x85 || c == 0x2028 ||
         c == 0x2029;
}

bool IsUpperChar(char32_t c) {
  if (char32_t up, low; Digraph(c, &up, &low)) return c == up;
  return SimpleLower(c) != c || c == 0x0130;
}
bool IsLowerChar(char32_t c) {
  if (char32_t up, low; Digraph(c, &up, &low)) return c == low;
  return SimpleUpper(c) != c || c == 0x00DF || c == 0x0149 || c == 0x0138 || (c >= 0xFB00 && c <= 0xFB06);
}
bool IsCased(char32_t c) {
  char32_t up, low;
  return IsUpperChar(c) || IsLowerChar(c) || Digraph(c, &up, &low);
}

bool IsAlpha(char32_t c) {
  if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
  return IsCased(c) || InRanges(c, {{0xAA, 0xAA},
                                    {0xBA, 0xBA},
                                    {0x05D0, 0x05EA},
                                    {0x0620, 0x064A},
                                    {0x0904, 0x0939},
                                    {0x0E01, 0x0E30},
                                    {0x1100, 0x11FF},
                                    {0x3041, 0x3096},
                                    {0x30A1, 0x30FA},
                                    {0x3400, 0x4DBF},
                                    {0x4E00, 0x9FFF},
                                    {0xAC00, 0xD7A3},
                                    {0xF900, 0xFAFF},
                                    {0x20000, 0x2FFFF}});
}

bool IsDecimal(char32_t c) {
  return (c >= '0' && c <= '9') ||
         InRanges(c, {{0x0660, 0x0669}, {0x06F0, 0x06F9}, {0x0966, 0x096F}, {0xFF10, 0xFF19}});
}
bool IsDigit(char32_t c) { return IsDecimal(c) || c == 0xB2 || c == 0xB3 || c == 0xB9; }
bool IsAlnum(char32_t c) { return IsAlpha(c) || IsDigit(c) || (c >= 0xBC && c <= 0xBE); }
bool IsWordChar(char32_t c) { return c == '_' || IsAlnum(c); }

bool IsPrintable(char32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  return !InRanges(c,
                   {{0x80, 0xA0},       {0xAD, 0xAD},       {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},
                    {0x070F, 0x070F},   {0x08E2, 0x08E2},   {0x1680, 0x1680},   {0x180E, 0x180E},   {0x2000, 0x200F},
                    {0x2028, 0x202F},   {0x205F, 0x2064},   {0x2066, 0x206F},   {0x3000, 0x3000},   {0xD800, 0xF8FF},
                    {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},   {0x110BD, 0x110BD},
                    {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF}});
}

std::string Upper(absl::string_view s) {
  std::u32string out;
  for (char32_t c : Decode(s)) AppendUpper(c, &out);
  return Encode(out);
}

std::string Lower(absl::string_view s) {
  const std::u32string u = Decode(s);
  std::u32string out;
  for (size_t i = 0; i < u.size(); ++i) {
    if (u[i] == 0x03A3 && FinalSigma(u, i)) {
      out.push_back(0x03C2);
    } else {
      AppendLower(u[i], &out);
    }
  }
  return Encode(out);
}

std::string Title(absl::string_view s) {
  std::u32string out;
  bool previous_cased = false;
  for (char32_t c : Decode(s)) {
    if (previous_cased) {
      AppendLower(c, &out);
    } else {
      AppendTitle(c, &out);
    }
    previous_cased = IsCased(c);
  }
  return Encode(out);
}

std::string Capitalize(absl::string_view s) {
  const std::u32string u = Decode(s);
  std::u32string out;
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 0) {
      AppendTitle(u[i], &out);
    } else {
      AppendLower(u[i], &out);
    }
  }
  return Encode(out);
}

std::string SwapCase(absl::string_view s) {
  std::u32string out;
  for (char32_t c : Decode(s)) {
    if (IsUpperChar(c)) {
      AppendLower(c, &out);
    } else {
      AppendUpper(c, &out);
    }
  }
  return Encode(out);
}

std::string CaseFold(absl::string_view s) {
  std::u32string out;
  for (char32_t c : Decode(s)) {
    if (c == 0x00DF || c == 0x1E9E) {
      out.append(U"ss");
    } else if (c == 0x03C2) {
      out.push_back(0x03C3);
    } else if (c == 0x017F) {
      out.push_back('s');
    } else if (c >= 0xFB00 && c <= 0xFB06) {
      out.append(kLigatures[c - 0xFB00]);
    } else {
      AppendLower(c, &out);
    }
  }
  return Encode(out);
}

std::string Strip(absl::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string u = Decode(s);
  const std::u32string set = chars ? Decode(*chars) : std::u32string();
  auto strip = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : IsSpace(c); };
  size_t b = 0, e = u.size();
  while (left && b < e && strip(u[b])) ++b;
  while (right && e > b && strip(u[e - 1])) --e;
  return Encode(std::u32string_view(u).substr(b, e - b));
}

namespace {

std::vector<std::string> SplitWhitespace(absl::string_view s, int64_t maxsplit, bool from_right) {
  std::u32string u = Decode(s);
  if (from_right) std::reverse(u.begin(), u.end());
  std::vector<std::string> parts;
  size_t i = 0;
  while (true) {
    while (i < u.size() && IsSpace(u[i])) ++i;
    if (i == u.size()) break;
    size_t j = i;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
      j = u.size();
    } else {
      while (j < u.size() && !IsSpace(u[j])) ++j;
    }
    std::u32string part = u.substr(i, j - i);
    if (from_right) std::reverse(part.begin(), part.end());
    parts.push_back(Encode(part));
    i = j;
  }
  if (from_right) std::reverse(parts.begin(), parts.end());
  return parts;
}

}  // namespace

std::vector<std::string> Split(absl::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right) {
  if (!sep) return SplitWhitespace(s, maxsplit, from_right);
  std::vector<std::string> parts;
  if (!from_right) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == absl::string_view::npos) break;
      parts.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    if (end < sep->size()) break;
    const size_t at = s.substr(0, end).rfind(*sep);
    if (at == absl::string_view::npos) break;
    parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
    end = at;
  }
  parts.emplace_back(s.substr(0, end));
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> SplitLines(absl::string_view s, bool keepends) {
  const std::u32string u = Decode(s);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < u.size(); ++i) {
    if (!IsLineBreak(u[i])) continue;
    size_t end = i + 1;
    if (u[i] == '\r' && i + 1 < u.size() && u[i + 1] == '\n') end = i + 2;
    lines.push_back(Encode(std::u32string_view(u).substr(start, (keepends ? end : i) - start)));
    start = end;
    i = end - 1;
  }
  if (start < u.size()) lines.push_back(Encode(std::u32string_view(u).substr(start)));
  return lines;
}

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-d.ddde+XX"
  const bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exp < -4 || exp >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof(ebuf), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + ebuf;
  }
  if (exp < 0) return out + "0." + std::string(-exp - 1, '0') + digits;
  if (static_cast<int>(digits.size()) <= exp + 1)
    return out + digits + std::string(exp + 1 - digits.size(), '0') + ".0";
  return out + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
}

void AppendStrRepr(absl::string_view s, std::string* out) {
  const bool has_single = s.find('\'') != absl::string_view::npos;
  const char quote = has_single && s.find('"') == absl::string_view::npos ? '"' : '\'';
  out->push_back(quote);
  for (char32_t c : Decode(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (IsPrintable(c)) {
      AppendUtf8(c, out);
    } else if (c < 0x100) {
      out->append("\\x"), AppendHex(c, 2, out);
    } else if (c < 0x10000) {
      out->append("\\u"), AppendHex(c, 4, out);
    } else {
      out->append("\\U"), AppendHex(c, 8, out);
    }
  }
  out->push_back(quote);
}

void AppendJsonString(absl::string_view s, bool ensure_ascii, std::string* out) {
  out->push_back('"');
  for (char32_t c : Decode(s)) {
    switch (c) {
      case '"': out->append("\\\""); continue;
      case '\\': out->append("\\\\"); continue;
      case '\n': out->append("\\n"); continue;
      case '\r': out->append("\\r"); continue;
      case '\t': out->append("\\t"); continue;
      case '\b': out->append("\\b"); continue;
      case '\f': out->append("\\f"); continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c > 0x7F && c < 0x10000)) {
      out->append("\\u"), AppendHex(c, 4, out);
    } else if (ensure_ascii && c >= 0x10000) {
      const char32_t v = c - 0x10000;
      out->append("\\u"), AppendHex(0xD800 + (v >> 10), 4, out);
      out->append("\\u"), AppendHex(0xDC00 + (v & 0x3FF), 4, out);
    } else {
      AppendUtf8(c, out);
    }
  }
  out->push_back('"');
}

}  // namespace rto::jinja::py
