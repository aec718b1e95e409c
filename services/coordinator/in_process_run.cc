#include "services/coordinator/in_process_run.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

// `make(rank, group)` for each of `ranks` ranks at once (joining a group blocks until every rank
// joins), the group named `role` in `rendezvous`.
template <typename Actor, typename Make>
absl::StatusOr<std::vector<std::unique_ptr<Actor>>> MakeRanks(int64_t ranks, Rendezvous* rendezvous, const char* role,
                                                              Make make) {
  std::vector<std::unique_ptr<Actor>> actors(ranks);
  if (ranks == 1) {
    RTO_ASSIGN_OR_RETURN(actors[0], make(nullptr));
    return actors;
  }
  std::vector<absl::Status> status(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      absl::StatusOr<std::unique_ptr<DataParallelGroup>> group = DataParallelGroup::Join(
          {.name = role, .port = rendezvous->port(), .rank = r, .world_size = static_cast<int>(ranks)},
          r == 0 ? rendezvous : nullptr);
      absl::StatusOr<std::unique_ptr<Actor>> actor = group.ok() ? make(std::move(*group)) : group.status();
      if (actor.ok()) actors[r] = std::move(*actor);
      status[r] = actor.status();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) {
    if (!status[r].ok())
      return absl::Status(status[r].code(), absl::StrCat(role, " rank ", r, ": ", status[r].message()));
  }
  return actors;
}

template <typename Base, typename Actor>
std::vector<Base*> Pointers(const std::vector<std::unique_ptr<Actor>>& actors) {
  std::vector<Base*> out;
  for (const auto& a : actors) out.push_back(a.get());
  return out;
}

}  // namespace

Coordinator::Roles InProcessRoles::roles() const {
  Critic* critic = nullptr;
  if (critic_group) {
    critic = critic_group.get();
  } else if (!critics.empty()) {
    critic = critics[0].get();
  }
  Learner* learner = learner_group ? learner_group.get() : static_cast<Learner*>(learners[0].get());
  return {rollout.get(), scorer.get(), critic, learner};
}

absl::StatusOr<InProcessRoles> MakeInProcessRoles(const RtoJobConfig& cfg) {
  InProcessRoles r;
  r.weights = std::make_shared<InProcessWeightChannel>();
  const int64_t learner_ranks = cfg.launch.learner_ranks, critic_ranks = cfg.launch.critic_ranks;
  if (learner_ranks > 1 || critic_ranks > 1) {
    RTO_ASSIGN_OR_RETURN(r.rendezvous, Rendezvous::Start("127.0.0.1", 0, std::chrono::seconds(60)));
  }
  // The groups of the two roles meet in one store: the learner's first, then the critic's.
  RTO_ASSIGN_OR_RETURN(r.learners,
                       MakeRanks<InProcessLearner>(
                           learner_ranks, r.rendezvous.get(), "learner", [&](std::unique_ptr<DataParallelGroup> group) {
                             const bool publishes = group == nullptr || group->rank() == 0;
                             return MakeLearner(cfg, publishes ? r.weights : nullptr, std::move(group));
                           }));
  RTO_ASSIGN_OR_RETURN(r.rollout, MakeRollout(cfg, r.weights));
  RTO_ASSIGN_OR_RETURN(r.scorer, MakeScorer(cfg));
  if (cfg.coordinator.estimator == AdvantageEstimator::kGae) {
    RTO_ASSIGN_OR_RETURN(r.critics, MakeRanks<InProcessCritic>(critic_ranks, r.rendezvous.get(), "critic",
                                                               [&](std::unique_ptr<DataParallelGroup> group) {
                                                                 return MakeCritic(cfg, std::move(group));
                                                               }));
  }
  if (learner_ranks > 1) r.learner_group = std::make_unique<DataParallelLearner>(Pointers<Learner>(r.learners));
  if (critic_ranks > 1 && !r.critics.empty()) {
    r.critic_group = std::make_unique<DataParallelCritic>(Pointers<Critic>(r.critics));
  }
  return r;
}

absl::Status RunRto(const RtoJobConfig& cfg, const std::string& resolved_config, bool resume) {
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(cfg.models.policy));
  RTO_ASSIGN_OR_RETURN(InProcessRoles roles, MakeInProcessRoles(cfg));
  RTO_ASSIGN_OR_RETURN(auto coordinator, MakeCoordinator(cfg, roles.roles(), *tokenizer, resolved_config, resume));
  return coordinator->Run();
}

}  // namespace rto
