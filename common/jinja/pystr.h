// Python's str semantics over UTF-8 text: code points, whitespace, case, splitting, repr, and
// the number and string spellings of str(), repr() and json.dumps.
//
// Strings are UTF-8 bytes. Decode maps an invalid byte b to U+DC80+b (Python's surrogateescape)
// so that Encode(Decode(s)) == s for any bytes. Case mapping and the character classes cover
// ASCII, Latin-1, Latin Extended-A and Additional, Greek, Cyrillic, Armenian and fullwidth forms
// (and the letter classes of the main scripts); other code points are left as they are, where
// Python consults the whole Unicode database.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace rto::jinja::py {

std::u32string Decode(absl::string_view s);
std::string Encode(std::u32string_view s);
void AppendUtf8(char32_t c, std::string* out);
// len(s): the number of code points.
size_t Length(absl::string_view s);

bool IsSpace(char32_t c);      // str.isspace
bool IsLineBreak(char32_t c);  // the boundaries of str.splitlines
bool IsCased(char32_t c);      // a letter with case
bool IsUpperChar(char32_t c);
bool IsLowerChar(char32_t c);
bool IsAlpha(char32_t c);
bool IsDecimal(char32_t c);
bool IsDigit(char32_t c);
bool IsAlnum(char32_t c);
bool IsWordChar(char32_t c);  // regex \w
bool IsPrintable(char32_t c);

std::string Upper(absl::string_view s);
std::string Lower(absl::string_view s);
std::string Title(absl::string_view s);  // str.title
std::string Capitalize(absl::string_view s);
std::string SwapCase(absl::string_view s);
std::string CaseFold(absl::string_view s);

// str.strip / lstrip / rstrip; no `chars` strips whitespace.
std::string Strip(absl::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split / str.rsplit; no `sep` splits on runs of whitespace. maxsplit < 0 is unlimited.
// REQUIRES: sep, when given, is not empty.
std::vector<std::string> Split(absl::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right);
std::vector<std::string> SplitLines(absl::string_view s, bool keepends);

// repr(float): the shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string FloatRepr(double d);
// repr(str): quoted with ' (or " when the text has ' and no "), escapes as Python's.
void AppendStrRepr(absl::string_view s, std::string* out);
// json.dumps(str) with the given ensure_ascii.
void AppendJsonString(absl::string_view s, bool ensure_ascii, std::string* out);

}  // namespace rto::jinja::py
