// The RL job in one process (`rto train rto|ppo`): the four roles' in-process actors, the weights
// passed through an InProcessWeightChannel, and the coordinator's loop over them.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/actors/coordinator.h"
#include "common/actors/rto_job.h"
#include "common/actors/weight_channel.h"
#include "services/critic/critic_actor.h"
#include "services/learner/learner_actor.h"
#include "services/rollout/rollout_actor.h"
#include "services/scorer/scorer_actor.h"

namespace rto {

// The four in-process actors of a config, and the roles the coordinator drives.
struct InProcessRoles {
  std::shared_ptr<InProcessWeightChannel> weights;
  std::unique_ptr<InProcessRollout> rollout;
  std::unique_ptr<InProcessScorer> scorer;
  std::unique_ptr<InProcessCritic> critic;  // null for the critic-free estimators
  std::unique_ptr<InProcessLearner> learner;
  Coordinator::Roles roles() const { return {rollout.get(), scorer.get(), critic.get(), learner.get()}; }
};
absl::StatusOr<InProcessRoles> MakeInProcessRoles(const RtoJobConfig& config);

// Runs the job to its end (or resumes it from its newest complete checkpoint).
absl::Status RunRto(const RtoJobConfig& config, const std::string& resolved_config, bool resume);

}  // namespace rto
