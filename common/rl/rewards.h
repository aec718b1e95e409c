// Rewards of RTO (DESIGN.md section 1): the dense DPO token reward, the KL penalty to the
// reference, and the sentence-level reward-model score on the last response token; the KL
// controllers; and the group baselines of the critic-free estimators.
//
// Tensors are [B, T] over response tokens (token t of row b is the t-th generated token), right
// padded, with a float mask that is 1 on real tokens. Every row has at least one real token.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto::rl {

struct TokenRewardOptions {
  double dpo_reward_scale = 0.05;  // beta1; 0 is plain PPO
  double dpo_reward_clip = 0.05;   // c
  double reward_clip = 10.0;       // the RM score is clipped to [-reward_clip, reward_clip]
  bool normalize_reward = false;   // (score - reward_mean) / reward_std before clipping
  double reward_mean = 0.0;
  double reward_std = 1.0;
};

// The RM score as it enters the reward: normalised when asked, then clipped. [B] -> [B].
at::Tensor SentenceReward(const at::Tensor& rm_scores, const TokenRewardOptions& options);

struct TokenRewards {
  at::Tensor rewards;      // [B, T] r_t, zero on padding
  at::Tensor dpo_rewards;  // [B, T] clip(beta1 * (log pi_dpo - log pi_ref), -c, c), zero on padding
  at::Tensor kl;           // [B, T] log pi_theta - log pi_ref, zero on padding
};

// r_t = clip(beta1 * dpo_logratio_t, -c, c) - kl_coef * (policy_t - ref_t) + [t == T] sentence_reward
//   dpo_logratio: log pi_dpo - log pi_dpo_ref per token ([B, T]); ignored when beta1 is 0.
//   sentence_reward: [B], the already normalised and clipped score (SentenceReward), or a
//     group-baselined one for the critic-free estimators.
TokenRewards ComposeTokenRewards(const at::Tensor& policy_logprobs, const at::Tensor& ref_logprobs,
                                 const at::Tensor& dpo_logratio, const at::Tensor& sentence_reward,
                                 const at::Tensor& mask, double kl_coef, const TokenRewardOptions& options);

// A mask's last real position of each row as a one-hot [B, T].
at::Tensor LastTokenOneHot(const at::Tensor& mask);

// The KL coefficient beta2: fixed, or adaptive as in Ziegler et al. (2019): after each step,
// beta2 *= 1 + clip(kl / target - 1, -0.2, 0.2) * samples / horizon, where kl is the step's
// mean per-sequence KL to the reference.
class KlController {
 public:
  static KlController Fixed(double coef) { return KlController(coef, 0, 0); }
  static KlController Adaptive(double initial_coef, double target, double horizon) {
    return KlController(initial_coef, target, horizon);
  }
  double coef() const { return coef_; }
  void Update(double kl, int64_t samples);
  // For checkpoints: the coefficient is the controller's whole state.
  void Restore(double coef) { coef_ = coef; }

 private:
  KlController(double coef, double target, double horizon) : coef_(coef), target_(target), horizon_(horizon) {}
  double coef_, target_, horizon_;  // target 0: fixed
};

// Sequence-level baselines of the critic-free estimators, over groups of `group_size`
// consecutive rows (the samples of one prompt). [B] -> [B].
enum class Baseline {
  kNone,         // REINFORCE++: the score itself (its advantages are whitened over the batch)
  kGroupNorm,    // GRPO: (s - mean(group)) / (std(group) + 1e-6), std with Bessel's correction
  kLeaveOneOut,  // RLOO: s - mean of the other samples of the group
};
absl::StatusOr<at::Tensor> ApplyBaseline(const at::Tensor& scores, int64_t group_size, Baseline baseline);

}  // namespace rto::rl
