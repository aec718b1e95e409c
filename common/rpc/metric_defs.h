// Every Prometheus metric rto exports, defined once, with its help text (as Ray's
// stats/metric_defs.cc). A metric of a role is rto_<role>_<name>: base units in the name
// (_seconds, _bytes), _total on counters, few labels (method and code on the RPC metrics, never
// ids). The README's metric table is checked against this list (metric_defs_test). Torch-free.
#pragma once

#include <vector>
#include "absl/strings/string_view.h"

namespace rto {

enum class MetricKind { kCounter, kGauge, kHistogram };

struct MetricDef {
  absl::string_view name;  // without the rto_<role>_ prefix
  MetricKind kind;
  absl::string_view help;
  std::vector<absl::string_view> roles;  // which roles export it; {"<role>"}: every role and the coordinator
};

namespace metric {

// Every server's RPCs (labels: method, code; the latency: method).
inline const MetricDef kRequests{
    "requests_total", MetricKind::kCounter, "RPCs handled, by method and status code", {"<role>"}};
inline const MetricDef kRequestSeconds{"request_seconds", MetricKind::kHistogram, "RPC latency, by method", {"<role>"}};
// Not the coordinator's: its handlers answer without an actor.
inline const MetricDef kMailboxDepth{"mailbox_depth",
                                     MetricKind::kGauge,
                                     "work waiting or running in the actor's mailbox",
                                     {"rollout", "scorer", "critic", "learner"}};

inline const MetricDef kGeneratedTokens{
    "generated_tokens_total", MetricKind::kCounter, "response tokens generated", {"rollout"}};
inline const MetricDef kPolicyVersion{
    "policy_version", MetricKind::kGauge, "the version of the weights the role holds", {"rollout", "learner"}};
inline const MetricDef kWeightSyncSeconds{
    "weight_sync_seconds", MetricKind::kHistogram, "time of one weight transfer", {"rollout", "learner"}};
inline const MetricDef kWeightSyncBytes{
    "weight_sync_bytes_total", MetricKind::kCounter, "weight bytes moved", {"rollout", "learner"}};
inline const MetricDef kWeightSyncSharedMemory{"weight_sync_shared_memory",
                                               MetricKind::kGauge,
                                               "1 when the last weight transfer went through shared memory",
                                               {"rollout", "learner"}};

inline const MetricDef kSteps{"steps_total", MetricKind::kCounter, "RL steps completed", {"coordinator"}};
inline const MetricDef kRecoveries{
    "recoveries_total", MetricKind::kCounter, "recoveries from a lost worker, by role", {"coordinator"}};
inline const MetricDef kRecoverySeconds{"recovery_seconds",
                                        MetricKind::kHistogram,
                                        "time from a lost learner, critic or scorer until the run is back at its step",
                                        {"coordinator"}};
// One gauge per value of the last step's metrics.jsonl line, named after its key with / as _
// (reward/rm_score: rto_coordinator_reward_rm_score).
inline const MetricDef kStepMetric{
    "<metric>", MetricKind::kGauge, "the coordinator's metric of the last step", {"coordinator"}};

// All of the above.
const std::vector<const MetricDef*>& All();

}  // namespace metric
}  // namespace rto
