// What one RL step learns from, as a pure function over plain data: the scorer's, learner's and
// critic's answers for a batch of trajectories become token rewards (DESIGN.md section 1), then
// advantages and returns (GAE, or the critic-free GRPO / RLOO / REINFORCE++), plus the step's
// reward, KL and fit metrics. No role is called; float32 on the CPU.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/actors/roles.h"
#include "common/rl/rewards.h"
#include "common/util/metrics.h"

namespace rto {

enum class AdvantageEstimator { kGae, kGrpo, kRloo, kReinforcePlusPlus };
absl::StatusOr<AdvantageEstimator> ParseAdvantageEstimator(absl::string_view name);  // gae|grpo|rloo|reinforce++

struct ExperienceOptions {
  rl::TokenRewardOptions reward;  // dpo_reward_scale 0: no DPO log-ratios are read
  double kl_coef = 0.01;          // beta2, the KL controller's current value
  AdvantageEstimator estimator = AdvantageEstimator::kGae;
  int64_t samples_per_prompt = 1;  // trajectories are grouped by prompt, in this many consecutive rows
  double gamma = 1.0, lambda = 0.95;
  bool whiten_advantages = true;  // GAE only; REINFORCE++ always whitens, GRPO and RLOO never
};

// The answers of the other roles for one batch. `values` is empty for the critic-free estimators.
struct StepAnswers {
  ScoreResult scores;
  PolicyEvaluation policy;
  TokenValues values;
};

struct Experience {
  TokenValues advantages, returns;  // per response token of each trajectory
  double kl_per_sequence = 0;       // mean over responses of sum_t (log pi - log pi_ref): the KL controller's input
  // reward/{rm_score,sentence,dpo_token_mean,dpo_sequence,token_total}, kl/{ref,coef},
  // policy/entropy, advantage/mean, return/mean, rollout/logprob_max_diff, and for GAE
  // critic/{explained_variance,value_mean}.
  Metrics metrics;
};

// REQUIRES: every answer has one value per response token of each trajectory (checked: an
// error names which answer does not), one RM score per trajectory, and behaviour log-probs on
// every trajectory.
absl::StatusOr<Experience> BuildExperience(const std::vector<Trajectory>& trajectories, const StepAnswers& answers,
                                           const ExperienceOptions& options);

}  // namespace rto
