#include "common/rl/ppo_losses.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace rto::rl {

PolicyLossResult PolicyLoss(const at::Tensor& logprobs, const at::Tensor& old_logprobs, const at::Tensor& advantages,
                            const at::Tensor& mask, double clip_eps) {
  at::Tensor log_ratio = (logprobs - old_logprobs) * mask;
  at::Tensor ratio = log_ratio.exp();
  at::Tensor unclipped = -advantages * ratio;
  at::Tensor clipped = -advantages * ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps);
  PolicyLossResult out;
  out.loss_sum = (at::max(unclipped, clipped) * mask).sum();
  c10::NoGradGuard no_grad;
  out.clipped = ((clipped > unclipped).to(at::kFloat) * mask).sum().item<double>();
  out.approx_kl = (((ratio - 1) - log_ratio) * mask).sum().item<double>();
  out.ratio_max_dev = ((ratio - 1).abs() * mask).max().item<double>();
  return out;
}

ValueLossResult ValueLoss(const at::Tensor& values, const at::Tensor& old_values, const at::Tensor& returns,
                          const at::Tensor& mask, double value_clip) {
  at::Tensor loss = (values - returns).square();
  ValueLossResult out;
  if (value_clip > 0) {
    at::Tensor v_clipped = old_values + (values - old_values).clamp(-value_clip, value_clip);
    at::Tensor loss_clipped = (v_clipped - returns).square();
    {
      c10::NoGradGuard no_grad;
      out.clipped = ((loss_clipped > loss).to(at::kFloat) * mask).sum().item<double>();
    }
    loss = at::max(loss, loss_clipped);
  }
  out.loss_sum = 0.5 * (loss * mask).sum();
  return out;
}

}  // namespace rto::rl
