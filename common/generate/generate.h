// Batched sampling from a causal LM with the KV cache: temperature, top-k, top-p, stop
// tokens and a token budget. Rows that finish leave the batch, so they stop costing compute.
//
// Each sequence draws its random numbers from its own counter-based stream, keyed by
// (seed, sequence_seed, step): a sequence's sample does not depend on which other
// sequences share its batch, how batches are cut, or which worker runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/generate/sampling.h"
#include "common/model/transformer.h"

namespace rto {

enum class FinishReason { kStop, kLength };

struct Generation {
  std::vector<int64_t> tokens;  // the response, including the stop token when there is one
  // log-probability of each response token under softmax(logits / temperature) of the
  // full vocabulary (before top-k/top-p), as the learner recomputes it; temperature 0 uses 1.
  std::vector<float> logprobs;
  FinishReason finish_reason = FinishReason::kLength;
};

absl::Status ValidateSamplingParams(const SamplingParams& params, int64_t vocab_size);

// Generates one response per prompt. `sequence_seeds[i]` keys prompt i's random stream
// (e.g. its index in the dataset); empty means 0, 1, 2, ...
// REQUIRES: the model has an LM head; prompts are non-empty and hold ids in the vocabulary.
// `on_finished(i, generation)`, when given, is called for each prompt as soon as its response is
// complete (so results can stream out while longer ones are still decoding).
absl::StatusOr<std::vector<Generation>> Generate(
    const Transformer& model, const std::vector<std::vector<int64_t>>& prompts, const SamplingParams& params,
    const std::vector<uint64_t>& sequence_seeds = {},
    const std::function<void(size_t, const Generation&)>& on_finished = {});

// Picks one token per row of float32 logits [B, vocab]; `uniforms` (float64 [B], in [0, 1))
// drive the draw. Exposed for tests.
at::Tensor SampleTokens(const at::Tensor& logits, const SamplingParams& params, const at::Tensor& uniforms);

// A uniform double in [0, 1) from a counter-based hash of (seed, stream, counter).
double CounterUniform(uint64_t seed, uint64_t stream, uint64_t counter);

}  // namespace rto
