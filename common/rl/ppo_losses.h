// The PPO losses of one mini-batch: the clipped surrogate for the policy and the clipped value
// loss for the critic. Per-token tensors [B, T] with a 1/0 float mask; losses are summed over
// real tokens so that a caller can split a mini-batch into micro-batches and divide by the
// mini-batch's token count (token mean over the mini-batch, as veRL's "token-mean").
#pragma once

#include <ATen/core/Tensor.h>

namespace rto::rl {

struct PolicyLossResult {
  at::Tensor loss_sum;       // sum over real tokens of -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)
  double clipped = 0;        // real tokens where the clipped term was the one taken
  double approx_kl = 0;      // sum over real tokens of (ratio - 1) - log ratio: KL(old || new) (k3)
  double ratio_max_dev = 0;  // max |ratio - 1| over real tokens
};
PolicyLossResult PolicyLoss(const at::Tensor& logprobs, const at::Tensor& old_logprobs, const at::Tensor& advantages,
                            const at::Tensor& mask, double clip_eps);

struct ValueLossResult {
  at::Tensor loss_sum;  // sum over real tokens of 0.5 * max((V - R)^2, (V_clipped - R)^2)
  double clipped = 0;   // real tokens where the clipped loss was the larger
};
// V_clipped = old_values + clip(values - old_values, -value_clip, value_clip); value_clip <= 0
// turns clipping off.
ValueLossResult ValueLoss(const at::Tensor& values, const at::Tensor& old_values, const at::Tensor& returns,
                          const at::Tensor& mask, double value_clip);

}  // namespace rto::rl
