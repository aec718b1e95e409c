// The RL job across processes (`rto launch`, `rto coordinator`).
//
// The coordinator serves the control plane (proto/rto/v1/coordinator.proto): every role's server
// registers with it and heartbeats. It waits for the learner's and the critic's (GAE)
// data-parallel ranks (launch.learner_ranks, critic_ranks), M scorers and N rollout workers, runs the coordinator's
// loop over gRPC clients of the same role interfaces, answers status / pause / resume / stop (`rto ctl`), replaces a
// rollout worker that stops answering with the next one that registers, checks at the end that every rollout worker
// holds the learner's weights, and then tells the workers to exit.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/actors/rto_job.h"
#include "services/coordinator/local_processes.h"

namespace rto {

struct CoordinatorEndpoint {
  std::string host = "127.0.0.1";  // to bind
  int port = 0, metrics_port = 0;  // 0: free ports
  int health_port = -1;            // the plaintext health-check-only port: -1 none, 0 a free one
  std::string metrics_host;        // the interface /metrics listens on (default: host)
  std::string advertise;           // the host workers reach the coordinator at (default: host)
};

// Runs the job to its end (or to a stop) over the workers that register. `local`, when given,
// holds the workers this machine starts (`rto launch`): they are started here, replaced when a
// rollout worker dies, and a dead one explains a failure.
absl::Status RunDistributed(const RtoJobConfig& config, const std::string& resolved_config, bool resume,
                            const CoordinatorEndpoint& endpoint, LocalProcesses* local);

}  // namespace rto
