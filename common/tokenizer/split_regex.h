// A PCRE2 regex that splits text into pieces as HF's Split pre-tokenizer with the "Isolated"
// behaviour does: every match is a piece, and so is every run of text between matches.
// PCRE2 is used because the tokenizers' patterns need Unicode classes and look-ahead.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

class SplitRegex {
 public:
  // Compiles (and JIT-compiles) `pattern`. Invalid UTF-8 in the subject never matches.
  static absl::StatusOr<std::unique_ptr<SplitRegex>> Create(const std::string& pattern);
  // A pattern that matches `literal` exactly (HF's {"String": ...} patterns).
  static absl::StatusOr<std::unique_ptr<SplitRegex>> CreateLiteral(absl::string_view literal);
  ~SplitRegex();

  // Appends the byte ranges [begin, end) of the non-empty matches in `text`, left to right,
  // not overlapping. Thread-safe.
  void FindMatches(absl::string_view text, std::vector<std::pair<size_t, size_t>>* out) const;
  // `text` with every match replaced by `replacement`. Thread-safe.
  std::string ReplaceAll(absl::string_view text, absl::string_view replacement) const;

  // Appends the pieces of `text` to `out`; they concatenate back to `text`.
  // Thread-safe: each call uses its own match data.
  void Split(absl::string_view text, std::vector<absl::string_view>* out) const;

 private:
  SplitRegex() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rto
