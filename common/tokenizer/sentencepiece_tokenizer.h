// SentencePiece `.model` files (Llama-2, Mistral), read and run natively: the ModelProto is
// parsed from its protobuf wire format (no libsentencepiece, whose protobuf symbols clash with
// LibTorch's in one process), and text is encoded with the model's own algorithm: BPE (merge the
// adjacent pair whose union scores highest) or unigram (Viterbi over piece scores), with byte
// fallback. Normalisation: the identity rule (as Llama-2 and Mistral ship), dummy prefix,
// whitespace escaping; a model with a precompiled normalisation map is rejected at load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

class SentencePieceTokenizer : public Tokenizer {
 public:
  // `model_bytes`: the .model file; `config_json`: tokenizer_config.json's text or empty
  // (add_bos_token defaults to true and add_eos_token to false, as LlamaTokenizer's).
  static absl::StatusOr<std::unique_ptr<SentencePieceTokenizer>> Create(const std::string& model_bytes,
                                                                        const std::string& config_json,
                                                                        const std::string& source);

  std::vector<int64_t> Encode(absl::string_view text, const EncodeOptions& options = {}) const override;
  std::string DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const override;
  // SentencePiece replaces each invalid byte by its own U+FFFD.
  std::string Decode(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  std::optional<int64_t> TokenToId(absl::string_view token) const override;
  bool IsSpecial(int64_t id) const override;

  enum class PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
  struct Piece {
    std::string text;
    float score = 0;
    PieceType type = PieceType::kNormal;
  };

 private:
  SentencePieceTokenizer() = default;
  // Normalises a stretch of text: whitespace escaped as U+2581, dummy prefix when `first`.
  std::string Normalize(absl::string_view text, bool first) const;
  void EncodeNormalized(absl::string_view normalized, std::vector<int64_t>* out) const;
  void EncodeBpe(absl::string_view normalized, std::vector<int64_t>* out) const;
  void EncodeUnigram(absl::string_view normalized, std::vector<int64_t>* out) const;
  // A piece's id, or its bytes as <0xXX> pieces (byte fallback), or unk.
  void EmitPiece(absl::string_view piece, std::vector<int64_t>* out) const;

  std::vector<Piece> pieces_;
  absl::flat_hash_map<std::string, int64_t> piece_id_;  // pieces usable for encoding
  std::array<int64_t, 256> byte_piece_{};               // -1 when the model has no byte pieces
  std::vector<int64_t> control_ids_;                    // matched in text under parse_special
  bool bpe_ = false;
  bool byte_fallback_ = false;
  bool add_dummy_prefix_ = true, remove_extra_whitespaces_ = true, escape_whitespaces_ = true;
  int64_t unk_id_ = 0;
  size_t max_piece_bytes_ = 1;
  float min_score_ = 0;
  bool add_bos_ = true, add_eos_ = false;
};

}  // namespace rto
