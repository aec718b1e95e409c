// rto-critic: the value model (initialised from the reward model) and its optimiser.
#include "services/common/service_main.h"
#include "services/critic/critic_actor.h"
#include "services/critic/critic_service.h"

int main(int argc, char** argv) {
  using namespace rto;
  auto flags = ParseServiceFlags("critic", argc, argv);
  if (!flags.ok()) return Fail("critic", flags.status());
  auto actor = MakeCritic(flags->config);
  if (!actor.ok()) return Fail("critic", actor.status());
  if (*actor == nullptr) {
    return Fail("critic", absl::InvalidArgumentError("advantage.estimator needs no critic"));
  }
  auto metrics = StartMetrics("critic", *flags);
  if (!metrics.ok()) return Fail("critic", metrics.status());
  CriticService service(**actor, metrics->get(), ServiceOptionsOf(flags->config));
  return Serve("critic", *flags, {&service}, metrics->get());
}
