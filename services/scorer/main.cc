// rto-scorer: frozen reference, DPO and reward models; per-token log-probs and RM scores.
#include "common/util/log_lines.h"
#include "services/common/service_main.h"
#include "services/scorer/scorer_actor.h"
#include "services/scorer/scorer_service.h"

int main(int argc, char** argv) {
  rto::WriteLogLinesWhole();
  using namespace rto;
  auto flags = ParseServiceFlags("scorer", argc, argv);
  if (!flags.ok()) return Fail("scorer", flags.status());
  auto actor = MakeScorer(flags->config);
  if (!actor.ok()) return Fail("scorer", actor.status());
  auto metrics = StartMetrics("scorer", *flags);
  if (!metrics.ok()) return Fail("scorer", metrics.status());
  ScorerService service(**actor, metrics->get(), ServiceOptionsOf(flags->config));
  return Serve("scorer", *flags, {&service}, metrics->get());
}
