// Text <-> token ids, with one interface over HF `tokenizer.json` (BPE, Unigram, WordLevel with
// their normalisers, pre-tokenizers, post-processors and decoders) and SentencePiece `.model`
// files (Llama-2, Mistral). Torch-free.
// Implementations are immutable after loading and safe to use from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace rto {

struct EncodeOptions {
  // Add what the tokenizer adds around a sequence (e.g. BOS), as HF's add_special_tokens.
  bool add_special_tokens = true;
  // Turn special-token text in the input (e.g. "<|eot_id|>") into the special token. Off for
  // user text, so that text which merely looks like a control token stays text; on for text
  // rendered by a chat template, which writes the control tokens itself.
  bool parse_special = false;
};

// Names and ids of the tokens the pipeline needs; absent when the tokenizer has none.
struct SpecialTokens {
  std::optional<int64_t> bos_id, eos_id, pad_id;
  std::string bos, eos, pad;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<int64_t> Encode(absl::string_view text, const EncodeOptions& options = {}) const = 0;
  // The bytes the tokens stand for; a cut inside a multi-byte character leaves invalid UTF-8.
  virtual std::string DecodeBytes(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const = 0;
  // Text, as the format's own library decodes: DecodeBytes with invalid UTF-8 replaced by U+FFFD.
  virtual std::string Decode(absl::Span<const int64_t> ids, bool skip_special_tokens = false) const;

  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int64_t> TokenToId(absl::string_view token) const = 0;
  virtual bool IsSpecial(int64_t id) const = 0;

  const SpecialTokens& special_tokens() const { return special_; }
  // The Jinja chat template of tokenizer_config.json, empty when there is none.
  const std::string& chat_template() const { return chat_template_; }

 protected:
  friend absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& dir);
  SpecialTokens special_;
  std::string chat_template_;
};

// Loads the tokenizer of a model directory as transformers does: `tokenizer.json` (with
// `tokenizer_config.json` when present), else SentencePiece `tokenizer.model`; when
// tokenizer.json has a component rto does not implement and tokenizer.model is there too, that
// one (with a warning on stderr). `chat_template.jinja`, when present, is the chat template.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& dir);

}  // namespace rto
