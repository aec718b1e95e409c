// rto-learner: the policy and its optimiser; PPO updates, checkpoints, and the weight broadcast
// (it hosts the c10d TCPStore the rollout workers join). One of launch.learner_ranks
// data-parallel processes (--rank); rank 0 hosts the store the ranks meet in, serves the
// coordinator's log-prob, publish and save calls alone, and broadcasts the weights.
#include "common/util/log_lines.h"
#include "services/common/service_main.h"
#include "services/learner/learner_actor.h"
#include "services/learner/learner_service.h"

int main(int argc, char** argv) {
  rto::WriteLogLinesWhole();
  using namespace rto;
  auto flags = ParseServiceFlags("learner", argc, argv);
  if (!flags.ok()) return Fail("learner", flags.status());
  std::shared_ptr<BroadcastWeightChannel> weights;
  Rendezvous* hosted = nullptr;
  if (flags->rank == 0) {
    auto rendezvous = StartRendezvous(*flags);
    if (!rendezvous.ok()) return Fail("learner", rendezvous.status());
    hosted = rendezvous->get();
    weights = std::make_shared<BroadcastWeightChannel>(std::move(*rendezvous));
  }
  auto group = JoinDataParallel("learner", *flags, flags->config.launch.learner_ranks, hosted);
  if (!group.ok()) return Fail("learner", group.status());
  auto actor = MakeLearner(flags->config, weights, std::move(*group));
  if (!actor.ok()) return Fail("learner", actor.status());
  auto metrics = StartMetrics("learner", *flags);
  if (!metrics.ok()) return Fail("learner", metrics.status());
  LearnerService service(**actor, weights ? weights->rendezvous_port() : 0, metrics->get(),
                         ServiceOptionsOf(flags->config));
  return Serve("learner", *flags, {&service}, metrics->get());
}
