#include "common/rl/rewards.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace rto::rl {

at::Tensor SentenceReward(const at::Tensor& rm_scores, const TokenRewardOptions& o) {
  at::Tensor s = rm_scores.to(at::kFloat);
  if (o.normalize_reward) s = (s - o.reward_mean) / o.reward_std;
  return s.clamp(-o.reward_clip, o.reward_clip);
}

at::Tensor LastTokenOneHot(const at::Tensor& mask) {
  at::Tensor last = mask.sum(-1).to(at::kLong) - 1;
  return at::zeros_like(mask).scatter_(-1, last.unsqueeze(-1), 1.0);
}

TokenRewards ComposeTokenRewards(const at::Tensor& policy_logprobs, const at::Tensor& ref_logprobs,
                                 const at::Tensor& dpo_logratio, const at::Tensor& sentence_reward,
                                 const at::Tensor& mask, double kl_coef, const TokenRewardOptions& o) {
  TokenRewards out;
  out.kl = (policy_logprobs - ref_logprobs) * mask;
  out.dpo_rewards = o.dpo_reward_scale == 0
                        ? at::zeros_like(mask)
                        : (o.dpo_reward_scale * dpo_logratio).clamp(-o.dpo_reward_clip, o.dpo_reward_clip) * mask;
  out.rewards = out.dpo_rewards - kl_coef * out.kl + LastTokenOneHot(mask) * sentence_reward.unsqueeze(-1);
  return out;
}

void KlController::Update(double kl, int64_t samples) {
  if (target_ <= 0) return;
  const double error = std::clamp(kl / target_ - 1.0, -0.2, 0.2);
  coef_ *= 1.0 + error * static_cast<double>(samples) / horizon_;
}

absl::StatusOr<at::Tensor> ApplyBaseline(const at::Tensor& scores, int64_t group_size, Baseline baseline) {
  if (baseline == Baseline::kNone) return scores;
  const int64_t n = scores.size(0);
  if (group_size < 2 || n % group_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a group baseline needs at least 2 samples per prompt and whole groups; got groups of ",
                     group_size, " over ", n, " samples"));
  }
  at::Tensor g = scores.to(at::kFloat).reshape({n / group_size, group_size});
  at::Tensor out;
  if (baseline == Baseline::kGroupNorm) {
    out = (g - g.mean(-1, true)) / (g.std(-1, /*unbiased=*/true, /*keepdim=*/true) + 1e-6);
  } else {
    out = g - (g.sum(-1, true) - g) / static_cast<double>(group_size - 1);
  }
  return out.reshape({n});
}

}  // namespace rto::rl
