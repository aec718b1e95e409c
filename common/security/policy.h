// Who may call what: the run's principals (one bearer token each, pki.h) and the gRPC methods
// each may call. Deny by default: a method not listed here is refused to everyone.
//
//   coordinator                          every method of the four role services
//   learner, critic, scorer, rollout     Coordinator.Register and Coordinator.Heartbeat
//   operator (`rto ctl`)                 Coordinator.GetStatus, Pause, Resume, Stop
//   any principal                        grpc.health.v1.Health
#pragma once

#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace rto {

// Every principal of a run, in the order `rto launch` makes their credentials.
const std::vector<std::string>& RunPrincipals();
// The principals of the four worker roles.
bool IsWorkerRole(absl::string_view principal);

// OK when `principal` may call `method` (a gRPC path, "/rto.v1.Learner/Train");
// PERMISSION_DENIED naming both otherwise.
absl::Status Authorize(absl::string_view principal, absl::string_view method);

}  // namespace rto
