// Tokenised training examples and their batches, shared by the offline jobs.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"

namespace rto {

// Prompt then response tokens, and where the response starts.
struct Example {
  std::vector<int64_t> ids;
  int64_t response_start = 0;
};

// A right-padded batch with next-token targets and the mask of the response targets
// (position t - 1 predicts token t).
struct ExampleBatch {
  at::Tensor ids, mask, targets, loss_mask;  // [B, T], [B, T], [B, T-1], [B, T-1]
  int64_t response_tokens = 0;
};
ExampleBatch MakeExampleBatch(const std::vector<const Example*>& examples, int64_t pad_id);

absl::StatusOr<Example> MakeExample(TextEncoder& encoder, const std::vector<ChatMessage>& prompt,
                                    const std::string& response);

// A preference pair sharing its prompt.
struct PairExample {
  Example chosen, rejected;
};
absl::StatusOr<std::vector<PairExample>> MakePairExamples(TextEncoder& encoder, const std::vector<PreferenceRow>& rows);

// The pad id of a tokenizer: pad, else EOS, else 0 (padding is masked out anyway).
int64_t PadId(const Tokenizer& tokenizer);

}  // namespace rto
