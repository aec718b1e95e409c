// SentencePiece `.model` files (Llama-2, Mistral) through Debian's libsentencepiece.
#pragma once

#include <memory>
#include <string>

#include "common/tokenizer/sentencepiece_backend.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // `config_json`: tokenizer_config.json's text or empty (add_bos_token defaults to true and
  // add_eos_token to false, as LlamaTokenizer's).
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> Create(const std::string& model_path,
                                                                        const std::string& config_json);
  ~SentencePieceTokenizer() override;

  std::vector<int64_t> Encode(absl::string_view text, const EncodeOptions& options = {}) const override;
  std::string DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const override;
  int64_t vocab_size() const override;
  std::optional<int64_t> TokenToId(absl::string_view token) const override;
  bool IsSpecial(int64_t id) const override;

 private:
  SentencePieceTokenizer() = default;
  void EncodeText(absl::string_view text, std::vector<int64_t>* out) const;
  std::unique_ptr<SentencePieceBackend> sp_;
  bool add_bos_ = true, add_eos_ = false;
};

}  // namespace rto
