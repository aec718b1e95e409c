#include "common/tokenizer/precompiled_charsmap.h"

#include "absl/strings/str_cat.h"
#include "common/tokenizer/unicode.h"

namespace rto {
namespace {

// Darts-clone's unit encoding.
uint32_t Offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }
uint32_t Label(uint32_t unit) { return unit & ((1u << 31) | 0xFFu); }
bool HasLeaf(uint32_t unit) { return ((unit >> 8) & 1u) != 0; }
uint32_t Value(uint32_t unit) { return unit & ((1u << 31) - 1); }

}  // namespace

absl::StatusOr<std::unique_ptr<PrecompiledCharsmap>> PrecompiledCharsmap::Create(absl::string_view blob,
                                                                                 const std::string& source) {
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": precompiled_charsmap ", what));
  };
  if (blob.size() < 4) return bad("is shorter than its 4-byte header");
  uint32_t trie_bytes = 0;
  for (int i = 3; i >= 0; --i) trie_bytes = (trie_bytes << 8) | static_cast<uint8_t>(blob[i]);
  if (trie_bytes % 4 != 0 || trie_bytes == 0 || trie_bytes > blob.size() - 4) {
    return bad(absl::StrCat("declares a trie of ", trie_bytes, " bytes in a blob of ", blob.size()));
  }
  std::unique_ptr<PrecompiledCharsmap> map(new PrecompiledCharsmap());
  map->units_.resize(trie_bytes / 4);
  for (size_t i = 0; i < map->units_.size(); ++i) {
    uint32_t u = 0;
    for (int k = 3; k >= 0; --k) u = (u << 8) | static_cast<uint8_t>(blob[4 + 4 * i + k]);
    map->units_[i] = u;
  }
  map->replacements_ = std::string(blob.substr(4 + trie_bytes));
  if (!unicode::IsValidUtf8(map->replacements_)) return bad("holds replacements that are not valid UTF-8");
  return map;
}

std::optional<absl::string_view> PrecompiledCharsmap::Transform(absl::string_view chunk) const {
  size_t node = Offset(units_[0]);
  for (char ch : chunk) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == 0) return std::nullopt;
    node ^= c;
    if (node >= units_.size()) return std::nullopt;
    const uint32_t unit = units_[node];
    if (Label(unit) != c) return std::nullopt;
    node ^= Offset(unit);
    if (!HasLeaf(unit)) continue;
    if (node >= units_.size()) return std::nullopt;
    const size_t start = Value(units_[node]);
    if (start >= replacements_.size()) return std::nullopt;
    size_t end = replacements_.find('\0', start);
    if (end == std::string::npos) end = replacements_.size();
    return absl::string_view(replacements_).substr(start, end - start);
  }
  return std::nullopt;
}

std::string PrecompiledCharsmap::Normalize(absl::string_view text) const {
  std::string out;
  out.reserve(text.size());
  for (absl::string_view grapheme : unicode::Graphemes(text)) {
    if (grapheme.size() < 6) {
      if (std::optional<absl::string_view> whole = Transform(grapheme)) {
        out.append(whole->data(), whole->size());
        continue;
      }
    }
    for (const unicode::CodePointAt& c : unicode::CodePoints(grapheme)) {
      absl::string_view ch = grapheme.substr(c.begin, c.size);
      std::optional<absl::string_view> replaced = Transform(ch);
      out.append(replaced ? replaced->data() : ch.data(), replaced ? replaced->size() : ch.size());
    }
  }
  return out;
}

}  // namespace rto
