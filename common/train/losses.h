// The losses of the offline jobs, on per-token log-probs and per-sequence scores:
// SFT (masked cross-entropy), the reward model's Bradley-Terry loss, and DPO (sigmoid, with
// cDPO label smoothing, or IPO).
#pragma once

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

// Mean negative log-likelihood over the tokens where `loss_mask` is 1 (the response), across
// the whole batch, as TRL and OpenRLHF average: prompt and padding tokens do not count.
//   token_logprobs, loss_mask: [B, T]. Returns a scalar.
at::Tensor SftLoss(const at::Tensor& token_logprobs, const at::Tensor& loss_mask);

// Sum of the masked log-probs of each sequence: log pi(y | x). [B, T] -> [B].
at::Tensor SequenceLogProb(const at::Tensor& token_logprobs, const at::Tensor& loss_mask);

// -log sigmoid(r(x, y_w) - r(x, y_l)), averaged over the batch. Scores: [B].
at::Tensor BradleyTerryLoss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores);

struct DpoOptions {
  enum class Loss { kSigmoid, kIpo };
  Loss loss = Loss::kSigmoid;
  double beta = 0.1;
  double label_smoothing = 0.0;  // cDPO: the probability that a label is flipped (sigmoid loss only)
};
absl::StatusOr<DpoOptions::Loss> ParseDpoLoss(absl::string_view name);  // "sigmoid", "ipo"

struct DpoOutput {
  at::Tensor loss;              // scalar, the batch mean
  at::Tensor chosen_rewards;    // [B] beta * (log pi(y_w) - log pi_ref(y_w)), detached
  at::Tensor rejected_rewards;  // [B] likewise for y_l
};

// All log-probs are per sequence, [B]; the reference's carry no gradient.
//   sigmoid: -(1 - ls) log sigmoid(beta h) - ls log sigmoid(-beta h)
//   ipo:     (h - 1 / (2 beta))^2
// with h = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l)).
DpoOutput DpoLoss(const at::Tensor& policy_chosen, const at::Tensor& policy_rejected,
                  const at::Tensor& reference_chosen, const at::Tensor& reference_rejected, const DpoOptions& options);

}  // namespace rto
