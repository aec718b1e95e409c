// tokenizer.json's `pre_tokenizer`: ByteLevel, Metaspace, Split, Whitespace, WhitespaceSplit,
// Digits, Punctuation, BertPreTokenizer and Sequence, splitting text into the pieces the model
// encodes one by one, as HF tokenizers does. Immutable after Create; thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace rto {

struct PreToken {
  std::string text;
  // Whether the piece starts where the whole input starts (Metaspace's prepend_scheme "first").
  bool at_start = false;
};

class HfPreTokenizer {
 public:
  // `spec`: the pre_tokenizer's JSON (null: none). Unimplemented names a component rto lacks;
  // InvalidArgument says what is malformed.
  static absl::StatusOr<std::unique_ptr<HfPreTokenizer>> Create(const nlohmann::json& spec, const std::string& source);

  // Splits each piece in place, stage by stage.
  void Apply(std::vector<PreToken>* pieces) const;

  // Whether there is a ByteLevel stage: then the model works on bytes, and ByteLevel itself only
  // adds the prefix space and splits (the byte-to-character mapping is the model's).
  bool byte_level() const { return byte_level_; }

  // One stage: the pieces of one piece, appended to `out`.
  using Stage = std::function<void(const PreToken&, std::vector<PreToken>*)>;

 private:
  absl::Status Add(const nlohmann::json& spec, const std::string& source);
  absl::Status AddSplit(const nlohmann::json& spec, const std::string& source);
  absl::Status AddMetaspace(const nlohmann::json& spec, const std::string& source);
  std::vector<Stage> stages_;
  bool byte_level_ = false;
};

}  // namespace rto
