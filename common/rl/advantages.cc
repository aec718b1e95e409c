#include "common/rl/advantages.h"

#include <ATen/ATen.h>

namespace rto::rl {

at::Tensor MaskedMean(const at::Tensor& x, const at::Tensor& mask) { return (x * mask).sum() / mask.sum(); }

at::Tensor MaskedVar(const at::Tensor& x, const at::Tensor& mask) {
  at::Tensor n = mask.sum();
  at::Tensor centered = (x - MaskedMean(x, mask)) * mask;
  at::Tensor var = (centered * centered).sum() / n;
  return var * n / (n - 1).clamp_min(1);
}

at::Tensor Whiten(const at::Tensor& x, const at::Tensor& mask, bool shift_mean) {
  at::Tensor mean = MaskedMean(x, mask);
  at::Tensor out = (x - mean) * at::rsqrt(MaskedVar(x, mask) + 1e-8);
  if (!shift_mean) out = out + mean;
  return out * mask;
}

AdvantagesAndReturns Gae(const at::Tensor& rewards, const at::Tensor& values, const at::Tensor& mask, double gamma,
                         double lambda) {
  // Padding is only on the right, so zeroing it makes V after the last real token 0 and keeps
  // the padded advantages at 0.
  at::Tensor r = rewards * mask, v = values * mask;
  const int64_t steps = r.size(1);
  at::Tensor advantages = at::zeros_like(r);
  at::Tensor next_advantage = at::zeros({r.size(0)}, r.options());
  at::Tensor next_value = at::zeros({r.size(0)}, r.options());
  for (int64_t t = steps - 1; t >= 0; --t) {
    at::Tensor v_t = v.select(1, t);
    at::Tensor delta = r.select(1, t) + gamma * next_value - v_t;
    next_advantage = delta + gamma * lambda * next_advantage;
    advantages.select(1, t).copy_(next_advantage);
    next_value = v_t;
  }
  advantages = advantages * mask;
  return {advantages, (advantages + v) * mask};
}

at::Tensor DiscountedReturns(const at::Tensor& rewards, const at::Tensor& mask, double gamma) {
  at::Tensor r = rewards * mask;
  at::Tensor returns = at::zeros_like(r);
  at::Tensor running = at::zeros({r.size(0)}, r.options());
  for (int64_t t = r.size(1) - 1; t >= 0; --t) {
    running = r.select(1, t) + gamma * running;
    returns.select(1, t).copy_(running);
  }
  return returns * mask;
}

double ExplainedVariance(const at::Tensor& values, const at::Tensor& returns, const at::Tensor& mask) {
  const double var_returns = MaskedVar(returns, mask).item<double>();
  if (var_returns == 0) return 0.0;
  return 1.0 - MaskedVar(returns - values, mask).item<double>() / var_returns;
}

}  // namespace rto::rl
