#include "common/data/batching.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace rto {

absl::StatusOr<std::vector<int64_t>> TextEncoder::Prompt(const std::vector<ChatMessage>& messages) {
  const SpecialTokens& s = tok_.special_tokens();
  absl::StatusOr<std::string> text =
      options_.chat_template.Render(messages, /*add_generation_prompt=*/true, {s.bos, s.eos});
  if (!text.ok()) return text.status();
  // The template writes its own control tokens (BOS included), as HF's apply_chat_template.
  std::vector<int64_t> ids = tok_.Encode(*text, {.add_special_tokens = false, .parse_special = true});
  if (options_.max_prompt_tokens > 0 && static_cast<int64_t>(ids.size()) > options_.max_prompt_tokens) {
    ids.erase(ids.begin(), ids.end() - options_.max_prompt_tokens);
    ++prompts_truncated_;
  }
  return ids;
}

std::vector<int64_t> TextEncoder::Response(const std::string& text) {
  std::vector<int64_t> ids = tok_.Encode(text, {.add_special_tokens = false, .parse_special = false});
  if (tok_.special_tokens().eos_id) ids.push_back(*tok_.special_tokens().eos_id);
  if (options_.max_response_tokens > 0 && static_cast<int64_t>(ids.size()) > options_.max_response_tokens) {
    ids.resize(options_.max_response_tokens);
    ++responses_truncated_;
  }
  return ids;
}

namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

DataOrder::DataOrder(int64_t size, uint64_t seed, bool shuffle) : size_(size), seed_(seed), shuffle_(shuffle) {
  Permute();
}

void DataOrder::Permute() {
  order_.resize(size_);
  std::iota(order_.begin(), order_.end(), 0);
  if (!shuffle_) return;
  // Fisher-Yates with our own generator: std::shuffle's output differs between standard libraries.
  uint64_t rng = seed_ * 0x100000001B3ull + static_cast<uint64_t>(state_.epoch);
  for (int64_t i = size_ - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(SplitMix64(rng) % static_cast<uint64_t>(i + 1));
    std::swap(order_[i], order_[j]);
  }
}

std::vector<int64_t> DataOrder::Next(int64_t count) {
  std::vector<int64_t> out;
  while (static_cast<int64_t>(out.size()) < count && size_ > 0) {
    if (state_.position == size_) {
      ++state_.epoch;
      state_.position = 0;
      Permute();
    }
    out.push_back(order_[state_.position++]);
  }
  return out;
}

absl::Status DataOrder::Restore(const State& state) {
  if (state.epoch < 0 || state.position < 0 || state.position > size_) {
    return absl::InvalidArgumentError(absl::StrCat("data position (epoch ", state.epoch, ", row ", state.position,
                                                   ") does not fit a dataset of ", size_, " rows"));
  }
  state_ = state;
  Permute();
  return absl::OkStatus();
}

PaddedBatch Pad(const std::vector<std::vector<int64_t>>& sequences, int64_t pad_id, PadSide side) {
  PaddedBatch b;
  b.rows = static_cast<int64_t>(sequences.size());
  for (const auto& s : sequences) b.cols = std::max<int64_t>(b.cols, s.size());
  b.ids.assign(b.rows * b.cols, pad_id);
  b.mask.assign(b.rows * b.cols, 0);
  for (int64_t r = 0; r < b.rows; ++r) {
    const auto& s = sequences[r];
    int64_t offset = side == PadSide::kLeft ? b.cols - static_cast<int64_t>(s.size()) : 0;
    for (size_t t = 0; t < s.size(); ++t) {
      b.ids[r * b.cols + offset + t] = s[t];
      b.mask[r * b.cols + offset + t] = 1;
    }
  }
  return b;
}

}  // namespace rto
