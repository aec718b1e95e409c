// Trajectories as tensors: prompt + response rows for a forward pass, and the per-response-token
// layout [B, R] (right padded, with a float mask) that rewards, advantages and losses use.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/data/retokenize.h"
#include "common/model/transformer.h"

namespace rto {

// R counts the policy's response tokens; with a Retokenizer, ids are the model's own tokens.
struct TrajectoryBatch {
  at::Tensor ids;              // int64 [B, L]: prompt then response, right padded
  at::Tensor attention;        // int64 [B, L]
  at::Tensor state_positions;  // int64 [B, R]: position whose hidden state predicts response token t
  at::Tensor last_positions;   // int64 [B]: position of the last response token
  at::Tensor targets;          // int64 [B, R]: the (policy's) response tokens (0 on padding)
  at::Tensor mask;             // float [B, R]: 1 on real response tokens
};

// Checks every trajectory (non-empty prompt and response, ids in `model`'s vocabulary) and builds
// the batch on `model`'s device. With `retokenizer` (a model with a tokenizer of its own), the
// trajectories are first moved to that model's tokens and each policy token's state is where
// the Retokenizer maps it.
absl::StatusOr<TrajectoryBatch> MakeTrajectoryBatch(const std::vector<Trajectory>& trajectories,
                                                    const Transformer& model, const Retokenizer* retokenizer = nullptr);

// Rows `rows` of every tensor of the batch.
TrajectoryBatch SelectRows(const TrajectoryBatch& batch, const std::vector<int64_t>& rows);

// Log-probs at temperature 0 (greedy) are those of the plain softmax, as the sampler reports.
inline double LogProbTemperature(double temperature) { return temperature > 0 ? temperature : 1.0; }

// Hidden states [B, L, H] at the positions that predict each response token: [B, R, H].
at::Tensor ResponseStates(const at::Tensor& hidden, const TrajectoryBatch& batch);

// Per-token values (one vector per trajectory) as a right-padded float32 [B, R] on the CPU, and
// back. REQUIRES for ToTensor: values[i].size() <= R.
at::Tensor ToTensor(const TokenValues& values, int64_t max_len);
TokenValues FromTensor(const at::Tensor& t, const at::Tensor& mask);

// Response lengths must match one per token; names `what` in the error.
absl::Status CheckTokenValues(const TokenValues& values, const std::vector<Trajectory>& trajectories, const char* what);

// A training input: CheckTokenValues, then ToTensor on `batch`'s device ([B, R] of `batch`).
absl::StatusOr<at::Tensor> TokenValuesTensor(const TokenValues& values, const std::vector<Trajectory>& trajectories,
                                             const TrajectoryBatch& batch, const char* what);

// Entropy of softmax(LM logits / temperature) at each state [B, R, H] -> [B, R], in chunks of
// rows so that only one chunk of logits exists at a time. No gradient.
at::Tensor TokenEntropy(const Transformer& model, const at::Tensor& states, double temperature,
                        int64_t chunk_rows = 1024);

}  // namespace rto
