// SentencePiece's precompiled normalisation map (the `precompiled_charsmap` of a .model's
// NormalizerSpec, and of tokenizer.json's Precompiled normaliser): a Darts double-array trie
// over UTF-8 byte strings whose values index NUL-terminated replacements.
// Layout: uint32 little-endian trie size in bytes, the trie's uint32 units, the replacements.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

class PrecompiledCharsmap {
 public:
  // Errors (InvalidArgument) say what is malformed; `source` names the file.
  static absl::StatusOr<std::unique_ptr<PrecompiledCharsmap>> Create(absl::string_view blob, const std::string& source);

  // Normalises as HF tokenizers' Precompiled normaliser does: each grapheme cluster shorter
  // than 6 bytes is replaced whole when the map has a rule for a prefix of it, else each of its
  // characters is replaced by its own rule or kept. Valid UTF-8 in, valid UTF-8 out.
  std::string Normalize(absl::string_view text) const;

 private:
  PrecompiledCharsmap() = default;
  // The replacement of the shortest key that is a prefix of `chunk`, if any.
  std::optional<absl::string_view> Transform(absl::string_view chunk) const;

  std::vector<uint32_t> units_;
  std::string replacements_;
};

}  // namespace rto
