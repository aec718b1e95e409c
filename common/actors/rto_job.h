// The RL job's config (`rto train rto|ppo`, `rto launch`, the role executables): the models (the
// policy, also the default reference; the DPO model, RTO only; the reward model; the critic's
// initial weights, the reward model by default), the coordinator's options and the launch
// settings; and the coordinator of a config. `ppo` is the same job with dpo_reward_scale 0.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/actors/coordinator.h"
#include "common/actors/train_mini_batches.h"
#include "common/config/config.h"
#include "common/data/retokenize.h"
#include "common/model/transformer.h"
#include "common/security/security_config.h"
#include "common/tokenizer/tokenizer.h"

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
  std::string dtype = "float32";  // of the trained models: policy (learner and rollout) and critic
  // The scorer's frozen models (reference, DPO model and its reference, reward model).
  struct Frozen {
    std::string dtype = "stored";  // stored: each computes in the dtype its weights are stored in
    bool map_weights = true;       // view the files' read-only mmap where the dtype allows (LoadOptions)
  } frozen;
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
    // Data-parallel processes of the learner and of the critic (ZeRO-1 sharded optimiser state).
    int64_t learner_ranks = 1;
    int64_t critic_ranks = 1;
    std::string host = "127.0.0.1";
    double startup_timeout_s = 120;
    double weight_sync_timeout_s = 60;
    int64_t bucket_mb = 32;
    std::string weight_transport = "auto";  // auto: shared memory when every rank shares a host; gloo
    double rpc_deadline_s = 600;
    int64_t max_message_mb = 256;
    int64_t mailbox = 8;
    bool restart_workers = true;      // replace a lost worker of any role and go on
    int64_t max_restarts = 5;         // a local process restarted more often than this
    double restart_window_s = 600;    // within this window keeps dying: the run stops
    double heartbeat_s = 1;           // how often workers heartbeat the coordinator
    double heartbeat_timeout_s = 10;  // silence after which a worker counts as lost
  } launch;
  SecurityConfig security;

  absl::Status Read(ConfigReader& config);
};

// A model of the job (`dir`, an HF directory) on its device, checked to share the policy's
// vocabulary unless it has a tokenizer of its own (HasOwnTokenizer). A trained model computes in
// the job's dtype; a frozen one as `frozen` says.
enum class ModelUse { kTrained, kFrozen };
absl::StatusOr<std::unique_ptr<Transformer>> LoadRoleModel(const RtoJobConfig& config, const std::string& dir,
                                                           HeadKind head, ModelUse use = ModelUse::kTrained);

// Whether model directory `dir` holds tokenizer files (tokenizer.json, else tokenizer.model)
// that differ from the policy's; without any it shares the policy's.
absl::StatusOr<bool> HasOwnTokenizer(const RtoJobConfig& config, const std::string& dir);

// For a reward model or critic in `dir` with a tokenizer of its own: the Retokenizer from the
// policy's tokens to its tokens over the run's prompts (chat template: its tokenizer's, else
// plain); null when `dir` shares the policy's tokenizer.
absl::StatusOr<std::unique_ptr<Retokenizer>> MakeRetokenizer(const RtoJobConfig& config, const std::string& dir);

// The coordinator of a config over `roles`, with the prompts read and tokenised.
absl::StatusOr<std::unique_ptr<Coordinator>> MakeCoordinator(const RtoJobConfig& config, Coordinator::Roles roles,
                                                             const Tokenizer& tokenizer,
                                                             const std::string& resolved_config, bool resume);

}  // namespace rto
