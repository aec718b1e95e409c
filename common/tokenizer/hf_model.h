// tokenizer.json's `model`: BPE (byte-level, or over characters with byte_fallback, unk_token,
// fuse_unk, continuing_subword_prefix, end_of_word_suffix, ignore_merges), Unigram (Viterbi
// over piece scores, byte_fallback) and WordLevel, encoding one pre-tokenized piece as HF
// tokenizers does. Immutable after Create; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json_fwd.hpp"

namespace rto {

class HfModel {
 public:
  // `spec`: the model's JSON. `byte_level`: the pieces come from a ByteLevel pre-tokenizer, so
  // they are raw bytes and the vocabulary is written in GPT-2's byte alphabet (BPE only).
  // `special_tokens`: contents of special added tokens, never produced from plain text.
  static absl::StatusOr<std::unique_ptr<HfModel>> Create(const nlohmann::json& spec, bool byte_level,
                                                         const absl::flat_hash_set<std::string>& special_tokens,
                                                         const std::string& source);
  virtual ~HfModel() = default;

  // Appends the ids of one piece.
  virtual void Tokenize(absl::string_view piece, std::vector<int64_t>* out) const = 0;

  // id -> the token as the file writes it ("" for an id the vocabulary skips).
  const std::vector<std::string>& id_to_token() const { return id_to_token_; }

 protected:
  std::vector<std::string> id_to_token_;
};

}  // namespace rto
