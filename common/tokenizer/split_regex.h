// A PCRE2 regex that splits text into pieces as HF's Split pre-tokenizer with the "Isolated"
// behaviour does: every match is a piece, and so is every run of text between matches.
// PCRE2 is used because the tokenizers' patterns need Unicode classes and look-ahead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

class SplitRegex {
 public:
  // Compiles (and JIT-compiles) `pattern`. Invalid UTF-8 in the subject never matches.
  static absl::StatusOr<std::unique_ptr<SplitRegex>> Create(const std::string& pattern);
  ~SplitRegex();

  // Appends the pieces of `text` to `out`; they concatenate back to `text`.
  // Thread-safe: each call uses its own match data.
  void Split(absl::string_view text, std::vector<absl::string_view>* out) const;

 private:
  SplitRegex() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rto
