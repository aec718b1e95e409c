#include "common/rpc/metric_defs.h"

namespace rto::metric {

const std::vector<const MetricDef*>& All() {
  static const auto* all = new std::vector<const MetricDef*>{
      &kRequests,      &kRequestSeconds,    &kMailboxDepth,    &kGeneratedTokens,
      &kPolicyVersion, &kWeightSyncSeconds, &kWeightSyncBytes, &kWeightSyncSharedMemory,
      &kSteps,         &kRecoveries,        &kRecoverySeconds, &kStepMetric};
  return *all;
}

}  // namespace rto::metric
