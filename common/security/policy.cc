#include "common/security/policy.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rto {

const std::vector<std::string>& RunPrincipals() {
  static const auto* principals =
      new std::vector<std::string>{"coordinator", "learner", "critic", "scorer", "rollout", "operator"};
  return *principals;
}

bool IsWorkerRole(absl::string_view p) { return p == "learner" || p == "critic" || p == "scorer" || p == "rollout"; }

absl::Status Authorize(absl::string_view principal, absl::string_view method) {
  bool allowed = false;
  if (absl::StartsWith(method, "/grpc.health.v1.Health/")) {
    allowed = true;
  } else if (absl::StartsWith(method, "/rto.v1.Learner/") || absl::StartsWith(method, "/rto.v1.Critic/") ||
             absl::StartsWith(method, "/rto.v1.Scorer/") || absl::StartsWith(method, "/rto.v1.Rollout/")) {
    allowed = principal == "coordinator";
  } else if (method == "/rto.v1.Coordinator/Register" || method == "/rto.v1.Coordinator/Heartbeat") {
    allowed = IsWorkerRole(principal);
  } else if (method == "/rto.v1.Coordinator/GetStatus" || method == "/rto.v1.Coordinator/Pause" ||
             method == "/rto.v1.Coordinator/Resume" || method == "/rto.v1.Coordinator/Stop") {
    allowed = principal == "operator";
  }
  if (allowed) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("the ", principal, " may not call ", method));
}

}  // namespace rto
