// HF `tokenizer.json` files, run natively as HF tokenizers runs them: added tokens are cut out
// of the text first (those with normalized=false before normalising, the others after), the
// rest is normalised (HfNormalizer), pre-tokenized (HfPreTokenizer) and encoded piece by piece
// by the model (HfModel: BPE, Unigram, WordLevel); the post-processor puts what
// add_special_tokens adds around the sequence (TemplateProcessing, RobertaProcessing,
// BertProcessing, ByteLevel, Sequence); the decoder turns tokens back into text (HfDecoder).
// A component rto does not implement is refused at load (Unimplemented) with its name.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/tokenizer/hf_decoder.h"
#include "common/tokenizer/hf_model.h"
#include "common/tokenizer/hf_normalizer.h"
#include "common/tokenizer/hf_pre_tokenizer.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

class HfTokenizer : public Tokenizer {
 public:
  // `tokenizer_json`: the text of tokenizer.json; `config_json`: tokenizer_config.json's text,
  // or empty. `source` names the files in errors. Unimplemented: a component rto lacks;
  // InvalidArgument: a malformed file.
  static absl::StatusOr<std::unique_ptr<HfTokenizer>> Create(const std::string& tokenizer_json,
                                                             const std::string& config_json, const std::string& source);

  std::vector<int64_t> Encode(absl::string_view text, const EncodeOptions& options = {}) const override;
  std::string DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const override;
  std::string Decode(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }
  std::optional<int64_t> TokenToId(absl::string_view token) const override;
  bool IsSpecial(int64_t id) const override;

 private:
  struct AddedToken {
    std::string content;  // normalised already when `normalized`
    int64_t id;
    bool special, lstrip, rstrip, single_word, normalized;
  };
  // A stretch of the input: an added token's id, or text (id -1) to encode.
  struct Segment {
    absl::string_view text;
    int64_t id;
  };

  HfTokenizer() = default;
  absl::Status ParseAddedTokens(const void* json, const std::string& source);
  absl::Status ParsePostProcessor(const void* json, const std::string& source);
  absl::Status ApplyConfig(const void* config, const std::string& source);
  // Cuts the added tokens of `pass` (those with normalized == `normalized_pass`) out of `text`.
  void SplitAdded(absl::string_view text, bool normalized_pass, bool parse_special, std::vector<Segment>* out) const;
  // Text between added tokens: normalise, cut normalised added tokens, pre-tokenize, encode.
  void EncodeText(absl::string_view text, bool at_start, bool parse_special, std::vector<int64_t>* out) const;
  std::vector<std::string> TokensOf(absl::Span<const int64_t> ids, bool skip_special_tokens) const;

  std::unique_ptr<HfNormalizer> normalizer_;
  std::unique_ptr<HfPreTokenizer> pre_tokenizer_;
  std::unique_ptr<HfModel> model_;
  std::unique_ptr<HfDecoder> decoder_;
  std::vector<std::string> id_to_token_;  // the model's tokens and the added ones, as written
  absl::flat_hash_map<std::string, int64_t> token_to_id_;
  std::vector<AddedToken> added_;                                        // longest first, so the longest match wins
  std::array<std::vector<const AddedToken*>, 256> added_by_first_byte_;  // into added_, longest first
  std::vector<bool> special_ids_;
  std::vector<int64_t> prefix_ids_, suffix_ids_;  // what add_special_tokens puts around a sequence
};

}  // namespace rto
