// tokenizer.json's `normalizer`: NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace,
// Prepend, Precompiled and Sequence, applied as HF tokenizers applies them. Immutable after
// Create; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json_fwd.hpp"

namespace rto {

class HfNormalizer {
 public:
  // `spec`: the normalizer's JSON (null: none). Unimplemented names a component rto lacks;
  // InvalidArgument says what is malformed. `source` names the file.
  static absl::StatusOr<std::unique_ptr<HfNormalizer>> Create(const nlohmann::json& spec, const std::string& source);

  // REQUIRES: valid UTF-8 for anything but the identity (invalid bytes pass through unchanged).
  std::string Normalize(absl::string_view text) const;
  bool empty() const { return steps_.empty(); }

 private:
  using Step = std::function<std::string(absl::string_view)>;
  absl::Status Add(const nlohmann::json& spec, const std::string& source);
  absl::Status AddPrecompiled(const nlohmann::json& spec, const std::string& source);
  std::vector<Step> steps_;
};

}  // namespace rto
