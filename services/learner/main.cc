// rto-learner: the policy and its optimiser; PPO updates, checkpoints, and the weight broadcast
// (it hosts the c10d TCPStore the rollout workers join).
#include "services/common/service_main.h"
#include "services/learner/learner_actor.h"
#include "services/learner/learner_service.h"

#include <chrono>

int main(int argc, char** argv) {
  using namespace rto;
  auto flags = ParseServiceFlags("learner", argc, argv);
  if (!flags.ok()) return Fail("learner", flags.status());
  const auto timeout =
      std::chrono::milliseconds(static_cast<int64_t>(flags->config.launch.weight_sync_timeout_s * 1000));
  auto rendezvous = Rendezvous::Start(flags->host, 0, timeout);
  if (!rendezvous.ok()) return Fail("learner", rendezvous.status());
  auto weights = std::make_shared<BroadcastWeightChannel>(std::move(*rendezvous));
  auto actor = MakeLearner(flags->config, weights);
  if (!actor.ok()) return Fail("learner", actor.status());
  auto metrics = StartMetrics("learner", *flags);
  if (!metrics.ok()) return Fail("learner", metrics.status());
  LearnerService service(**actor, weights->rendezvous_port(), metrics->get(), ServiceOptionsOf(flags->config));
  return Serve("learner", *flags, {&service}, metrics->get());
}
