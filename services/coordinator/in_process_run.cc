#include "services/coordinator/in_process_run.h"

#include "common/util/status_macros.h"

namespace rto {

absl::StatusOr<InProcessRoles> MakeInProcessRoles(const RtoJobConfig& cfg) {
  InProcessRoles r;
  r.weights = std::make_shared<InProcessWeightChannel>();
  RTO_ASSIGN_OR_RETURN(r.learner, MakeLearner(cfg, r.weights));
  RTO_ASSIGN_OR_RETURN(r.rollout, MakeRollout(cfg, r.weights));
  RTO_ASSIGN_OR_RETURN(r.scorer, MakeScorer(cfg));
  RTO_ASSIGN_OR_RETURN(r.critic, MakeCritic(cfg));
  return r;
}

absl::Status RunRto(const RtoJobConfig& cfg, const std::string& resolved_config, bool resume) {
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, LoadTokenizer(cfg.models.policy));
  RTO_ASSIGN_OR_RETURN(InProcessRoles roles, MakeInProcessRoles(cfg));
  RTO_ASSIGN_OR_RETURN(auto coordinator, MakeCoordinator(cfg, roles.roles(), *tokenizer, resolved_config, resume));
  return coordinator->Run();
}

}  // namespace rto
