// UTF-8 helpers for the tokenizers. Torch-free.
#pragma once

#include <array>
#include <cstdint>
#include <string>

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

// GPT-2's byte-level alphabet: every byte maps to a printable code point (bytes that are
// printable Latin-1 map to themselves, the rest to 256 + n in order).
const std::array<uint32_t, 256>& ByteToCodePoint();
// The inverse: -1 for code points that are not in the alphabet.
int ByteOfCodePoint(uint32_t code_point);

}  // namespace rto::unicode
