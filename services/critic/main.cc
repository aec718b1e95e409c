// rto-critic: the value model (initialised from the reward model) and its optimiser. One of
// launch.critic_ranks data-parallel processes (--rank); rank 0 hosts the store they meet in.
#include "common/util/log_lines.h"
#include "services/common/service_main.h"
#include "services/critic/critic_actor.h"
#include "services/critic/critic_service.h"

int main(int argc, char** argv) {
  rto::WriteLogLinesWhole();
  using namespace rto;
  auto flags = ParseServiceFlags("critic", argc, argv);
  if (!flags.ok()) return Fail("critic", flags.status());
  const int64_t ranks = flags->config.launch.critic_ranks;
  std::unique_ptr<Rendezvous> rendezvous;
  if (ranks > 1 && flags->rank == 0) {
    auto started = StartRendezvous(*flags);
    if (!started.ok()) return Fail("critic", started.status());
    rendezvous = std::move(*started);
  }
  auto group = JoinDataParallel("critic", *flags, ranks, rendezvous.get());
  if (!group.ok()) return Fail("critic", group.status());
  auto actor = MakeCritic(flags->config, std::move(*group));
  if (!actor.ok()) return Fail("critic", actor.status());
  if (*actor == nullptr) {
    return Fail("critic", absl::InvalidArgumentError("advantage.estimator needs no critic"));
  }
  auto metrics = StartMetrics("critic", *flags);
  if (!metrics.ok()) return Fail("critic", metrics.status());
  CriticService service(**actor, metrics->get(), ServiceOptionsOf(flags->config));
  return Serve("critic", *flags, {&service}, metrics->get());
}
