// From rows to batches: chat-template tokenisation with truncation counts, a seeded shuffled
// order with a resumable position (for checkpoints), and padding. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tokenizer/chat_format.h"
#include "common/tokenizer/tokenizer.h"

namespace rto {

struct TextEncoderOptions {
  ChatFormat chat_template = ChatTemplate::kPlain;
  int64_t max_prompt_tokens = 0;    // 0: no limit
  int64_t max_response_tokens = 0;  // 0: no limit
};

// Prompts are rendered with the chat template (ending in the assistant header) and keep their
// last max_prompt_tokens tokens; responses end with EOS and keep their first max_response_tokens.
// Not thread-safe (it counts truncations).
class TextEncoder {
 public:
  TextEncoder(const Tokenizer& tokenizer, TextEncoderOptions options) : tok_(tokenizer), options_(options) {}

  absl::StatusOr<std::vector<int64_t>> Prompt(const std::vector<ChatMessage>& messages);
  std::vector<int64_t> Response(const std::string& text);

  int64_t prompts_truncated() const { return prompts_truncated_; }
  int64_t responses_truncated() const { return responses_truncated_; }

 private:
  const Tokenizer& tok_;
  TextEncoderOptions options_;
  int64_t prompts_truncated_ = 0, responses_truncated_ = 0;
};

// The order in which a dataset of `size` rows is visited: a fresh seeded permutation each epoch
// (the same on every platform), and a position that a checkpoint saves and restores.
class DataOrder {
 public:
  struct State {
    int64_t epoch = 0;
    int64_t position = 0;  // rows of this epoch already handed out
  };

  DataOrder(int64_t size, uint64_t seed, bool shuffle = true);
  // The next `count` row indices, continuing into the next epoch when this one runs out.
  std::vector<int64_t> Next(int64_t count);
  State state() const { return state_; }
  absl::Status Restore(const State& state);

 private:
  void Permute();
  int64_t size_;
  uint64_t seed_;
  bool shuffle_;
  State state_;
  std::vector<int64_t> order_;
};

enum class PadSide { kLeft, kRight };

// Row-major [rows, cols] ids and a 1/0 mask, cols = the longest sequence.
struct PaddedBatch {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> ids, mask;
};
PaddedBatch Pad(const std::vector<std::vector<int64_t>>& sequences, int64_t pad_id, PadSide side);

}  // namespace rto
