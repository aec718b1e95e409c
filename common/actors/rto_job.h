// `rto train rto` and `rto train ppo`: the RL job on in-process actors. It loads the policy (also
// the default reference), the DPO model (RTO only), the reward model and the critic's initial
// weights (the reward model by default) from HF directories, and runs the coordinator's loop.
// `ppo` is the same job with dpo_reward_scale 0.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/actors/coordinator.h"
#include "common/actors/in_process.h"
#include "common/config/config.h"

namespace rto {

struct RtoJobConfig {
  struct Models {
    std::string policy;         // initial policy, usually the SFT model
    std::string reference;      // empty: the policy
    std::string dpo;            // needed when reward.dpo_reward_scale != 0
    std::string dpo_reference;  // empty: the reference
    std::string reward;         // reward model (with reward_normalization.json when normalising)
    std::string critic;         // empty: the reward model
  } models;
  std::string prompts, eval_prompts, out, chat_template;
  int64_t max_prompt_tokens = 256;
  int64_t max_eval_prompts = 0;  // 0: all
  std::string device = "cpu";
  std::string dtype = "float32";
  int64_t seed = 0;
  CoordinatorOptions coordinator;
  std::string estimator = "gae";
  double clip_eps = 0.2, value_clip = 0.2;
  ActorTrainOptions actor, critic;
  // `rto launch` (one process per role on this machine) and `rto coordinator` (workers started
  // elsewhere register with it).
  struct Launch {
    int64_t rollout_workers = 2;
    int64_t scorer_replicas = 1;
    std::string host = "127.0.0.1";
    double startup_timeout_s = 120;
    double weight_sync_timeout_s = 60;
    int64_t bucket_mb = 32;
    std::string weight_transport = "auto";  // auto: shared memory when every rank shares a host; gloo
    double rpc_deadline_s = 600;
    int64_t max_message_mb = 256;
    int64_t mailbox = 8;
    bool restart_workers = true;      // replace a dead rollout worker and go on
    double heartbeat_s = 1;           // how often workers heartbeat the coordinator
    double heartbeat_timeout_s = 10;  // silence after which a worker counts as lost
  } launch;

  absl::Status Read(ConfigReader& config);
};

// Each role's in-process actor, as a config describes it: a service builds one, the one-process
// job all four. MakeCritic gives null for the critic-free estimators.
absl::StatusOr<std::unique_ptr<InProcessRollout>> MakeRollout(const RtoJobConfig& config,
                                                              std::shared_ptr<WeightSource> weights);
absl::StatusOr<std::unique_ptr<InProcessScorer>> MakeScorer(const RtoJobConfig& config);
absl::StatusOr<std::unique_ptr<InProcessCritic>> MakeCritic(const RtoJobConfig& config);
absl::StatusOr<std::unique_ptr<InProcessLearner>> MakeLearner(const RtoJobConfig& config,
                                                              std::shared_ptr<WeightPublisher> weights);

// The four in-process actors of a config, and the roles the coordinator drives.
struct InProcessRoles {
  std::shared_ptr<WeightStore> weights;
  std::unique_ptr<InProcessRollout> rollout;
  std::unique_ptr<InProcessScorer> scorer;
  std::unique_ptr<InProcessCritic> critic;  // null for the critic-free estimators
  std::unique_ptr<InProcessLearner> learner;
  Coordinator::Roles roles() const { return {rollout.get(), scorer.get(), critic.get(), learner.get()}; }
};
absl::StatusOr<InProcessRoles> MakeInProcessRoles(const RtoJobConfig& config);

// The coordinator of a config over `roles`, with the prompts read and tokenised.
absl::StatusOr<std::unique_ptr<Coordinator>> MakeCoordinator(const RtoJobConfig& config, Coordinator::Roles roles,
                                                             const Tokenizer& tokenizer,
                                                             const std::string& resolved_config, bool resume);

absl::Status RunRto(const RtoJobConfig& config, const std::string& resolved_config, bool resume);

}  // namespace rto
