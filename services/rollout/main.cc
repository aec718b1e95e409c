// rto-rollout: a copy of the policy that samples responses, and takes the learner's weights
// from its broadcast between generations.
#include "common/util/log_lines.h"
#include "services/common/service_main.h"
#include "services/rollout/rollout_actor.h"
#include "services/rollout/rollout_service.h"

int main(int argc, char** argv) {
  rto::WriteLogLinesWhole();
  using namespace rto;
  auto flags = ParseServiceFlags("rollout", argc, argv);
  if (!flags.ok()) return Fail("rollout", flags.status());
  auto weights = std::make_shared<BroadcastWeightChannel>();
  auto actor = MakeRollout(flags->config, weights);
  if (!actor.ok()) return Fail("rollout", actor.status());
  auto metrics = StartMetrics("rollout", *flags);
  if (!metrics.ok()) return Fail("rollout", metrics.status());
  RolloutService service(**actor, metrics->get(), ServiceOptionsOf(flags->config));
  return Serve("rollout", *flags, {&service}, metrics->get());
}
