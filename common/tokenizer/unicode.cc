#include "common/tokenizer/unicode.h"

#include <utf8proc.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace rto::unicode {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one.
// Follows the Unicode standard's table of well-formed byte sequences (no overlongs, no
// surrogates, nothing above U+10FFFF). `*maximal_prefix` receives the length of the longest
// prefix that could still start a valid sequence (the "maximal subpart" replaced by U+FFFD).
size_t ValidSequenceLength(absl::string_view s, size_t i, size_t* maximal_prefix) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  *maximal_prefix = 1;
  if (c < 0x80) return 1;
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return 0;
    uint8_t x = b(i + k);
    bool ok = k == 1 ? (x >= lo && x <= hi) : (x >= 0x80 && x <= 0xBF);
    if (!ok) return 0;
    *maximal_prefix = k + 1;
  }
  return need;
}

}  // namespace

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

absl::StatusOr<std::u32string> DecodeUtf8(absl::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    size_t prefix;
    size_t n = ValidSequenceLength(s, i, &prefix);
    if (n == 0) return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", i));
    uint32_t cp = static_cast<uint8_t>(s[i]);
    if (n > 1) cp &= (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t prefix;
    size_t n = ValidSequenceLength(s, i, &prefix);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

namespace {

// Copies valid UTF-8 and writes U+FFFD for each invalid stretch: the maximal subpart, or each
// byte of it when `per_byte`.
std::string ReplaceInvalid(absl::string_view s, bool per_byte) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t prefix;
    size_t n = ValidSequenceLength(s, i, &prefix);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += per_byte ? 1 : prefix;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace

std::string ToValidUtf8Lossy(absl::string_view s) { return ReplaceInvalid(s, /*per_byte=*/false); }
std::string ToValidUtf8PerByte(absl::string_view s) { return ReplaceInvalid(s, /*per_byte=*/true); }

std::string NormalizeNfc(absl::string_view text) { return Normalize(text, NormalForm::kNfc); }

const std::array<uint32_t, 256>& ByteToCodePoint() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[b] = printable ? b : next++;
    }
    return t;
  }();
  return table;
}

int ByteOfCodePoint(uint32_t cp) {
  static const std::unordered_map<uint32_t, int> inverse = [] {
    std::unordered_map<uint32_t, int> m;
    for (int b = 0; b < 256; ++b) m[ByteToCodePoint()[b]] = b;
    return m;
  }();
  auto it = inverse.find(cp);
  return it == inverse.end() ? -1 : it->second;
}

std::optional<std::string> ByteLevelToBytes(absl::string_view token) {
  std::string bytes;
  for (const CodePointAt& c : CodePoints(token)) {
    const int b = ByteOfCodePoint(c.cp);
    if (b < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(b));
  }
  return bytes;
}

}  // namespace rto::unicode

namespace rto::unicode {
namespace {

std::string MapWithUtf8proc(absl::string_view text, utf8proc_option_t options) {
  utf8proc_uint8_t* result = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    static_cast<utf8proc_ssize_t>(text.size()), &result, options);
  if (n < 0) return std::string(text);
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(result, &std::free);
  return std::string(reinterpret_cast<const char*>(result), static_cast<size_t>(n));
}

bool IsAscii(absl::string_view text) {
  for (char c : text) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

utf8proc_category_t Category(char32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)); }

// Unicode's Cased and Case_Ignorable, as far as the final-sigma rule needs them.
bool IsCased(char32_t cp) {
  utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}
bool IsCaseIgnorable(char32_t cp) {
  utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK || cp == '\'' || cp == '.' || cp == ':' ||
         cp == 0x00B7 || cp == 0x2019;
}

// Whether the capital sigma at `i` ends a word: a cased letter before it and none after it
// (case-ignorable characters skipped), as Rust's str::to_lowercase decides.
bool IsFinalSigma(const std::u32string& cps, size_t i) {
  size_t before = i;
  while (before > 0 && IsCaseIgnorable(cps[before - 1])) --before;
  if (before == 0 || !IsCased(cps[before - 1])) return false;
  size_t after = i + 1;
  while (after < cps.size() && IsCaseIgnorable(cps[after])) ++after;
  return after == cps.size() || !IsCased(cps[after]);
}

}  // namespace

std::string Normalize(absl::string_view text, NormalForm form) {
  if (IsAscii(text)) return std::string(text);  // ASCII is in every normal form
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNfc: options |= UTF8PROC_COMPOSE; break;
    case NormalForm::kNfd: options |= UTF8PROC_DECOMPOSE; break;
    case NormalForm::kNfkc: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalForm::kNfkd: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  return MapWithUtf8proc(text, static_cast<utf8proc_option_t>(options));
}

std::string ToLowerFull(absl::string_view text) {
  if (IsAscii(text)) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  absl::StatusOr<std::u32string> cps = DecodeUtf8(text);
  if (!cps.ok()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < cps->size(); ++i) {
    char32_t cp = (*cps)[i];
    if (cp == 0x0130) {  // the one unconditional multi-character lower-case mapping
      out += "i\xCC\x87";
    } else if (cp == 0x03A3) {
      AppendUtf8(IsFinalSigma(*cps, i) ? 0x03C2 : 0x03C3, &out);
    } else {
      AppendUtf8(static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))), &out);
    }
  }
  return out;
}

std::vector<CodePointAt> CodePoints(absl::string_view text) {
  std::vector<CodePointAt> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t prefix;
    size_t n = ValidSequenceLength(text, i, &prefix);
    if (n == 0) {
      out.push_back({0xFFFD, i, 1});
      ++i;
      continue;
    }
    char32_t cp = static_cast<uint8_t>(text[i]);
    if (n > 1) cp &= (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3F);
    out.push_back({cp, i, n});
    i += n;
  }
  return out;
}

bool IsWhitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool IsPunctuation(char32_t cp) {
  if (cp < 0x80) return std::ispunct(static_cast<int>(cp)) != 0;
  utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_PC || c == UTF8PROC_CATEGORY_PD || c == UTF8PROC_CATEGORY_PS ||
         c == UTF8PROC_CATEGORY_PE || c == UTF8PROC_CATEGORY_PI || c == UTF8PROC_CATEGORY_PF ||
         c == UTF8PROC_CATEGORY_PO;
}

bool IsNumeric(char32_t cp) {
  utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool IsNonspacingMark(char32_t cp) { return Category(cp) == UTF8PROC_CATEGORY_MN; }

bool IsAlphanumeric(char32_t cp) {
  utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
         c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO || IsNumeric(cp);
}

std::vector<absl::string_view> Graphemes(absl::string_view text) {
  std::vector<absl::string_view> out;
  std::vector<CodePointAt> cps = CodePoints(text);
  utf8proc_int32_t state = 0;
  size_t start = 0;
  for (size_t i = 1; i < cps.size(); ++i) {
    if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(cps[i - 1].cp),
                                         static_cast<utf8proc_int32_t>(cps[i].cp), &state)) {
      out.push_back(text.substr(start, cps[i].begin - start));
      start = cps[i].begin;
    }
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

}  // namespace rto::unicode
