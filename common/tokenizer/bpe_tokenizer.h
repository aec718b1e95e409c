// HF `tokenizer.json` with a byte-level BPE model (GPT-2, Llama-3, Qwen2 families):
// NFC normaliser, Split(regex) / ByteLevel pre-tokenizers, added and special tokens matched
// before BPE, TemplateProcessing post-processor, ByteLevel decoder. Other components are
// rejected at load with an error that names them.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/tokenizer/split_regex.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

class BpeTokenizer : public Tokenizer {
 public:
  // `tokenizer_json`: the text of tokenizer.json; `config_json`: tokenizer_config.json's text,
  // or empty. `source` names the files in errors.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> Create(const std::string& tokenizer_json,
                                                              const std::string& config_json,
                                                              const std::string& source);

  std::vector<int64_t> Encode(absl::string_view text, const EncodeOptions& options = {}) const override;
  std::string DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(token_bytes_.size()); }
  std::optional<int64_t> TokenToId(absl::string_view token) const override;
  bool IsSpecial(int64_t id) const override;

 private:
  struct AddedToken {
    std::string content;
    int64_t id;
    bool special, lstrip, rstrip;
  };
  struct PreTokenizer {
    std::unique_ptr<SplitRegex> regex;  // null: no splitting
    bool add_prefix_space = false;
  };
  struct Merge {
    int32_t rank;
    int64_t merged;
  };

  BpeTokenizer() = default;
  absl::Status ParseModel(const void* json, const std::string& source);
  absl::Status ParsePreTokenizer(const void* json, const std::string& source);
  // Text between added tokens: normalise, pre-tokenize, BPE each piece.
  void EncodeSegment(absl::string_view text, std::vector<int64_t>* out) const;
  void EncodeWord(absl::string_view word, std::vector<int64_t>* out) const;

  std::vector<std::string> token_bytes_;                     // id -> the bytes it stands for
  absl::flat_hash_map<std::string, int64_t> file_token_id_;  // token as written in the file -> id
  absl::flat_hash_map<std::string, int64_t> bytes_id_;       // BPE vocabulary by bytes
  absl::flat_hash_map<uint64_t, Merge> merges_;              // (left id << 32 | right id) -> merge
  std::array<int64_t, 256> byte_id_{};
  bool ignore_merges_ = false;
  bool nfc_ = false;
  std::vector<PreTokenizer> pre_tokenizers_;
  std::vector<AddedToken> added_;  // longest first, so the longest match wins
  std::array<std::vector<const AddedToken*>, 256> added_by_first_byte_;
  std::vector<bool> special_ids_;
  std::vector<int64_t> prefix_ids_, suffix_ids_;  // what add_special_tokens puts around a sequence

  static constexpr size_t kMaxCacheEntries = 1 << 16;
  mutable absl::Mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int64_t>> cache_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace rto
