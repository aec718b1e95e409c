// The RL job in one process (`rto train rto|ppo`): the four roles' in-process actors, the weights
// passed through an InProcessWeightChannel, and the coordinator's loop over them. A learner or
// critic of several data-parallel ranks (launch.learner_ranks, critic_ranks) is that many actors
// in this process, each driven on its own thread per call, meeting in a rendezvous on loopback.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/coordinator.h"
#include "common/actors/rto_job.h"
#include "common/actors/weight_channel.h"
#include "services/coordinator/data_parallel_roles.h"
#include "services/critic/critic_actor.h"
#include "services/learner/learner_actor.h"
#include "services/rollout/rollout_actor.h"
#include "services/scorer/scorer_actor.h"

namespace rto {

// The in-process actors of a config, and the roles the coordinator drives.
struct InProcessRoles {
  std::shared_ptr<InProcessWeightChannel> weights;
  std::unique_ptr<InProcessRollout> rollout;
  std::unique_ptr<InProcessScorer> scorer;
  std::vector<std::unique_ptr<InProcessCritic>> critics;    // its ranks; none for the critic-free estimators
  std::vector<std::unique_ptr<InProcessLearner>> learners;  // its ranks; rank 0 publishes
  std::unique_ptr<Rendezvous> rendezvous;                   // where the ranks met (several ranks)
  std::unique_ptr<DataParallelCritic> critic_group;         // over several critic ranks
  std::unique_ptr<DataParallelLearner> learner_group;       // over several learner ranks
  InProcessLearner& learner() const { return *learners[0]; }
  Coordinator::Roles roles() const;
};
absl::StatusOr<InProcessRoles> MakeInProcessRoles(const RtoJobConfig& config);

// Runs the job to its end (or resumes it from its newest complete checkpoint).
absl::Status RunRto(const RtoJobConfig& config, const std::string& resolved_config, bool resume);

}  // namespace rto
