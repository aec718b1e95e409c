// The coordinator's loop (DESIGN.md section 2), written against the role interfaces only, so the
// same loop drives in-process actors and remote services. One step:
//   prompts -> rollout -> trajectories -> scorer (ref/DPO log-probs, RM), learner (log-probs at
//   the behaviour weights), critic (values) -> token rewards -> advantages -> learner and critic
//   updates -> the learner publishes weights, the rollout takes them.
// The coordinator holds the run: prompt order, step counter, KL controller, checkpoints,
// metrics.jsonl, and periodic evaluation samples.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/data/batching.h"
#include "common/rl/rewards.h"
#include "common/tokenizer/tokenizer.h"
#include "common/train/checkpoint_manager.h"
#include "common/train/run_dir.h"

namespace rto {

enum class AdvantageEstimator { kGae, kGrpo, kRloo, kReinforcePlusPlus };
absl::StatusOr<AdvantageEstimator> ParseAdvantageEstimator(absl::string_view name);  // gae|grpo|rloo|reinforce++

struct CoordinatorOptions {
  int64_t steps = 100;
  int64_t prompts_per_step = 16;
  int64_t samples_per_prompt = 4;
  SamplingParams sampling;
  uint64_t data_seed = 0;
  rl::TokenRewardOptions reward;
  double kl_coef = 0.01;
  double kl_target = 0;  // > 0: adaptive KL controller
  double kl_horizon = 10000;
  AdvantageEstimator estimator = AdvantageEstimator::kGae;
  double gamma = 1.0;
  double lambda = 0.95;
  bool whiten_advantages = true;  // GAE only; REINFORCE++ always whitens, GRPO and RLOO never
  int64_t checkpoint_every = 50;
  int64_t keep_checkpoints = 2;
  int64_t eval_every = 0;  // 0: no periodic evaluation
  // Score / evaluate / values, then policy / critic training, at the same time (remote roles).
  bool parallel_roles = false;
  SamplingParams eval_sampling;
};

// A prompt as token ids, plus the "prompt" value (JSON text) that evaluation samples echo back so
// that `rto eval` can match it.
struct PromptItem {
  std::vector<int64_t> tokens;
  std::string original_json;
};

class Coordinator {
 public:
  struct Roles {
    Rollout* rollout = nullptr;
    Scorer* scorer = nullptr;
    Critic* critic = nullptr;  // only for GAE
    Learner* learner = nullptr;
  };
  // Opens the run directory; with `resume`, restores the newest checkpoint into the roles. Either
  // way the rollout then takes the learner's weights. `tokenizer` decodes evaluation samples.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Create(const CoordinatorOptions& options, Roles roles,
                                                             std::vector<PromptItem> prompts,
                                                             std::vector<PromptItem> eval_prompts,
                                                             const Tokenizer* tokenizer, const std::string& out,
                                                             const std::string& resolved_config, bool resume);
  // Runs the remaining steps, checkpoints, evaluates, and writes summary.json and final/.
  absl::Status Run();
  // One step (exposed for tests); logs nothing and saves nothing.
  absl::StatusOr<Metrics> Step();
  int64_t step() const { return step_; }
  // Called when the rollout is UNAVAILABLE (a worker died): replaces dead workers and re-forms the
  // weight group, after which the coordinator syncs weights and retries. Without it the error ends
  // the run.
  void set_rollout_recovery(std::function<absl::Status()> recover) { recover_ = std::move(recover); }
  // Called with each step's metrics after they are logged (e.g. to export them to Prometheus).
  void set_step_observer(std::function<void(const Metrics&)> observer) { observer_ = std::move(observer); }

 private:
  Coordinator(const CoordinatorOptions& options, Roles roles, std::vector<PromptItem> prompts,
              std::vector<PromptItem> eval_prompts, const Tokenizer* tokenizer, RunDirectory run);
  absl::Status SyncRollout();
  // Generate (or sync), and on UNAVAILABLE recover once, sync the new workers and try again.
  absl::StatusOr<std::vector<Trajectory>> GenerateWithRecovery(const RolloutRequest& request);
  absl::Status SyncWithRecovery();
  absl::Status Save(const std::string& dir);
  absl::Status Restore(const std::string& dir);
  // Writes samples/step-<step>.jsonl (eval prompts answered by the current policy) and returns
  // eval metrics.
  absl::StatusOr<Metrics> Evaluate();

  CoordinatorOptions options_;
  Roles roles_;
  std::vector<PromptItem> prompts_, eval_prompts_;
  const Tokenizer* tokenizer_;
  RunDirectory run_;
  CheckpointManager checkpoints_;
  DataOrder order_;
  rl::KlController kl_;
  int64_t step_ = 0;
  std::function<void(const Metrics&)> observer_;
  std::function<absl::Status()> recover_;
  int64_t recoveries_ = 0;
};

}  // namespace rto
