// UTF-8 helpers for the tokenizers. Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto::unicode {

// Appends the UTF-8 encoding of a code point (< 0x110000).
void AppendUtf8(uint32_t code_point, std::string* out);

// Decodes UTF-8 text that must be valid; an error names the byte offset otherwise.
absl::StatusOr<std::u32string> DecodeUtf8(absl::string_view text);

// `bytes` with each maximal invalid UTF-8 subsequence replaced by U+FFFD, exactly as Rust's
// String::from_utf8_lossy (and so HF tokenizers' decode) does.
std::string ToValidUtf8Lossy(absl::string_view bytes);

// `bytes` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD, one
// per byte, as SentencePiece's decoder does.
std::string ToValidUtf8PerByte(absl::string_view bytes);

bool IsValidUtf8(absl::string_view bytes);

// Unicode NFC normalisation (via utf8proc). Invalid UTF-8 is returned unchanged.
std::string NormalizeNfc(absl::string_view text);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// Unicode normalisation to `form` (via utf8proc). Invalid UTF-8 is returned unchanged.
std::string Normalize(absl::string_view text, NormalForm form);

// Lower case as Rust's str::to_lowercase (so HF's Lowercase normaliser): full mappings
// (U+0130 becomes "i\u0307") and the final-sigma rule. Invalid UTF-8 is returned unchanged.
std::string ToLowerFull(absl::string_view text);

// A code point of valid UTF-8 text and where it is; invalid bytes come as U+FFFD, one per byte.
struct CodePointAt {
  char32_t cp;
  size_t begin, size;
};
std::vector<CodePointAt> CodePoints(absl::string_view text);

// Character classes as Rust's char methods define them (which is what HF tokenizers use).
bool IsWhitespace(char32_t cp);      // the White_Space property (char::is_whitespace)
bool IsPunctuation(char32_t cp);     // ASCII punctuation or a Unicode P* category
bool IsNumeric(char32_t cp);         // categories Nd, Nl, No (char::is_numeric)
bool IsNonspacingMark(char32_t cp);  // category Mn
bool IsAlphanumeric(char32_t cp);    // a letter (L*) or IsNumeric (char::is_alphanumeric)

// Extended grapheme clusters of valid UTF-8 text (UAX #29, via utf8proc); they concatenate back
// to `text`.
std::vector<absl::string_view> Graphemes(absl::string_view text);

// GPT-2's byte-level alphabet: every byte maps to a printable code point (bytes that are
// printable Latin-1 map to themselves, the rest to 256 + n in order).
const std::array<uint32_t, 256>& ByteToCodePoint();
// The inverse: -1 for code points that are not in the alphabet.
int ByteOfCodePoint(uint32_t code_point);
// A token written in that alphabet back to the bytes it stands for; nullopt when a character is
// outside it.
std::optional<std::string> ByteLevelToBytes(absl::string_view token);

}  // namespace rto::unicode
