// Advantages and returns over right-padded response tokens ([B, T] with a 1/0 float mask):
// GAE for PPO with a critic, discounted returns for the critic-free estimators, and whitening.
#pragma once

#include <ATen/core/Tensor.h>

namespace rto::rl {

// Mean of x over the mask's real entries (all rows together).
at::Tensor MaskedMean(const at::Tensor& x, const at::Tensor& mask);
// Variance over the mask's real entries, with Bessel's correction (as TRL's masked_var).
at::Tensor MaskedVar(const at::Tensor& x, const at::Tensor& mask);
// (x - mean) / sqrt(var + 1e-8) over the real entries; padding stays 0. With shift_mean false
// the mean is added back (TRL's option for rewards).
at::Tensor Whiten(const at::Tensor& x, const at::Tensor& mask, bool shift_mean = true);

struct AdvantagesAndReturns {
  at::Tensor advantages;  // [B, T], zero on padding
  at::Tensor returns;     // [B, T], zero on padding
};

// Generalised advantage estimation (Schulman et al. 2016):
//   delta_t = r_t + gamma * V_{t+1} - V_t (V after the last real token is 0)
//   A_t = delta_t + gamma * lambda * A_{t+1},  returns_t = A_t + V_t.
AdvantagesAndReturns Gae(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& mask, double gamma,
                         double lambda);

// G_t = sum_{k >= t} gamma^(k - t) r_k over real tokens: the critic-free return.
at::Tensor DiscountedReturns(const at::Tensor& rewards, const at::Tensor& mask, double gamma);

// 1 - Var(returns - values) / Var(returns) over real tokens: how much of the return the critic
// explains (1 perfect, 0 no better than a constant, negative worse).
double ExplainedVariance(const at::Tensor& values, const at::Tensor& returns, const at::Tensor& mask);

}  // namespace rto::rl
