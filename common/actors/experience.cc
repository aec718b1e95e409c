#include "common/actors/experience.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/actors/trajectory_batch.h"
#include "common/rl/advantages.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

at::Tensor ResponseMask(const std::vector<Trajectory>& trajectories, int64_t max_len) {
  at::Tensor mask = at::zeros({static_cast<int64_t>(trajectories.size()), max_len}, at::kFloat);
  for (size_t i = 0; i < trajectories.size(); ++i) {
    mask[i].narrow(0, 0, static_cast<int64_t>(trajectories[i].response.size())).fill_(1.0);
  }
  return mask;
}

// Mean over rows of the per-row sum over tokens.
double MeanRowSum(const at::Tensor& x) { return x.sum(-1).mean().item<double>(); }

absl::Status CheckAnswers(const std::vector<Trajectory>& trajectories, const StepAnswers& a,
                          const ExperienceOptions& o) {
  if (o.estimator == AdvantageEstimator::kGae) RTO_RETURN_IF_ERROR(CheckTokenValues(a.values, trajectories, "values"));
  RTO_RETURN_IF_ERROR(CheckTokenValues(a.scores.ref_logprobs, trajectories, "reference log-probs"));
  if (o.reward.dpo_reward_scale != 0) {
    RTO_RETURN_IF_ERROR(CheckTokenValues(a.scores.dpo_logratio, trajectories, "DPO log-ratios"));
  }
  RTO_RETURN_IF_ERROR(CheckTokenValues(a.policy.logprobs, trajectories, "policy log-probs"));
  if (a.scores.rm_scores.size() != trajectories.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(a.scores.rm_scores.size(), " reward scores for ", trajectories.size(), " trajectories"));
  }
  for (const Trajectory& t : trajectories) {
    if (t.logprobs.size() != t.response.size()) {
      return absl::InvalidArgumentError(absl::StrCat("trajectory ", t.id, " carries ", t.logprobs.size(),
                                                     " behaviour log-probs for ", t.response.size(), " tokens"));
    }
  }
  return absl::OkStatus();
}

// The largest gap between the behaviour log-probs (rollout, KV cache) and the learner's forward
// at the same weights.
double LogProbMaxDiff(const std::vector<Trajectory>& trajectories, const at::Tensor& policy_logprobs,
                      const at::Tensor& mask) {
  at::Tensor behaviour = at::zeros_like(mask);
  for (size_t i = 0; i < trajectories.size(); ++i) {
    const std::vector<float>& lp = trajectories[i].logprobs;
    behaviour[i].narrow(0, 0, static_cast<int64_t>(lp.size())).copy_(at::tensor(lp, at::kFloat));
  }
  return ((behaviour - policy_logprobs).abs() * mask).max().item<double>();
}

}  // namespace

absl::StatusOr<AdvantageEstimator> ParseAdvantageEstimator(absl::string_view name) {
  if (name == "gae") return AdvantageEstimator::kGae;
  if (name == "grpo") return AdvantageEstimator::kGrpo;
  if (name == "rloo") return AdvantageEstimator::kRloo;
  if (name == "reinforce++") return AdvantageEstimator::kReinforcePlusPlus;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown advantage estimator '", name, "' (expected gae, grpo, rloo or reinforce++)"));
}

absl::StatusOr<Experience> BuildExperience(const std::vector<Trajectory>& trajectories, const StepAnswers& a,
                                           const ExperienceOptions& o) {
  if (trajectories.empty()) return absl::InvalidArgumentError("no trajectories to learn from");
  RTO_RETURN_IF_ERROR(CheckAnswers(trajectories, a, o));
  c10::NoGradGuard no_grad;
  int64_t max_len = 0;
  for (const Trajectory& t : trajectories) max_len = std::max<int64_t>(max_len, t.response.size());
  const at::Tensor mask = ResponseMask(trajectories, max_len);
  const at::Tensor policy_logprobs = ToTensor(a.policy.logprobs, max_len);
  const at::Tensor rm = at::tensor(a.scores.rm_scores, at::kFloat);
  at::Tensor sentence = rl::SentenceReward(rm, o.reward);
  const double sentence_mean = sentence.mean().item<double>();
  if (o.estimator == AdvantageEstimator::kGrpo || o.estimator == AdvantageEstimator::kRloo) {
    RTO_ASSIGN_OR_RETURN(sentence,
                         rl::ApplyBaseline(sentence, o.samples_per_prompt,
                                           o.estimator == AdvantageEstimator::kGrpo ? rl::Baseline::kGroupNorm
                                                                                    : rl::Baseline::kLeaveOneOut));
  }
  const at::Tensor dpo_logratio =
      o.reward.dpo_reward_scale != 0 ? ToTensor(a.scores.dpo_logratio, max_len) : at::zeros_like(mask);
  const rl::TokenRewards rewards = rl::ComposeTokenRewards(policy_logprobs, ToTensor(a.scores.ref_logprobs, max_len),
                                                           dpo_logratio, sentence, mask, o.kl_coef, o.reward);
  Experience e;
  Metrics& m = e.metrics;
  at::Tensor advantages, returns;
  if (o.estimator == AdvantageEstimator::kGae) {
    const at::Tensor values = ToTensor(a.values, max_len);
    rl::AdvantagesAndReturns g = rl::Gae(rewards.rewards, values, mask, o.gamma, o.lambda);
    advantages = o.whiten_advantages ? rl::Whiten(g.advantages, mask) : g.advantages;
    returns = g.returns;
    m["critic/explained_variance"] = rl::ExplainedVariance(values, returns, mask);
    m["critic/value_mean"] = rl::MaskedMean(values, mask).item<double>();
  } else {
    returns = rl::DiscountedReturns(rewards.rewards, mask, o.gamma);
    advantages = o.estimator == AdvantageEstimator::kReinforcePlusPlus ? rl::Whiten(returns, mask) : returns;
  }
  e.advantages = FromTensor(advantages, mask);
  e.returns = FromTensor(returns, mask);
  e.kl_per_sequence = MeanRowSum(rewards.kl);
  m["rollout/logprob_max_diff"] = LogProbMaxDiff(trajectories, policy_logprobs, mask);
  m["reward/rm_score"] = rm.mean().item<double>();
  m["reward/sentence"] = sentence_mean;
  m["reward/dpo_token_mean"] = rl::MaskedMean(rewards.dpo_rewards, mask).item<double>();
  m["reward/dpo_sequence"] = MeanRowSum(rewards.dpo_rewards);
  m["reward/token_total"] = MeanRowSum(rewards.rewards);
  m["kl/ref"] = e.kl_per_sequence;
  m["kl/coef"] = o.kl_coef;
  m["policy/entropy"] = rl::MaskedMean(ToTensor(a.policy.entropy, max_len), mask).item<double>();
  m["advantage/mean"] = rl::MaskedMean(advantages, mask).item<double>();
  m["return/mean"] = rl::MaskedMean(returns, mask).item<double>();
  return e;
}

}  // namespace rto
