// The in-process actors: each owns its models and does the work of its role. The gRPC services
// of the distributed system wrap these same classes. Not thread-safe: an actor is driven by one
// thread (its mailbox's).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/actors/roles.h"
#include "common/model/transformer.h"
#include "common/train/optimizer.h"

namespace rto {

// How an actor with an optimiser trains: AdamW, a learning-rate schedule over all its optimiser
// steps, and PPO-style epochs over shuffled mini-batches split into micro-batches.
struct ActorTrainOptions {
  double lr = 1e-5;
  std::string schedule = "constant";
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  int64_t total_optimizer_steps = 1;  // for the schedule
  int64_t epochs = 1;
  int64_t mini_batch = 16;   // trajectories per optimiser step
  int64_t micro_batch = 16;  // trajectories per forward/backward
  uint64_t seed = 0;         // keys the mini-batch shuffles (with the step)
};

// How the learner's weights reach the rollouts. The learner publishes; each rollout receives,
// blocking until the version it expects is sent (as a receiver of a broadcast does). In one
// process that is WeightStore; across processes a c10d broadcast (common/weight_sync).
class WeightPublisher {
 public:
  virtual ~WeightPublisher() = default;
  virtual absl::Status Publish(const Transformer& model, int64_t version) = 0;
};
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // REQUIRES: the model has the publisher's parameters (checked).
  virtual absl::Status Receive(Transformer& model, int64_t version) = 0;
};

// The in-process channel: a copy of the published weights. Thread-safe.
class WeightStore : public WeightPublisher, public WeightSource {
 public:
  explicit WeightStore(std::chrono::milliseconds timeout = std::chrono::seconds(60)) : timeout_(timeout) {}
  absl::Status Publish(const Transformer& model, int64_t version) override;
  // Waits up to the timeout for `version` to be published.
  absl::Status Receive(Transformer& model, int64_t version) override;

 private:
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable published_;
  std::vector<at::Tensor> weights_;
  int64_t version_ = -1;
};

class InProcessRollout : public Rollout {
 public:
  InProcessRollout(std::unique_ptr<Transformer> policy, std::shared_ptr<WeightSource> weights);
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  absl::Status GenerateStreaming(const RolloutRequest& request,
                                 const std::function<void(Trajectory)>& on_finished) override;
  absl::Status SyncWeights(int64_t version) override;
  const Transformer& policy() const { return *policy_; }
  int64_t version() const { return version_; }

 private:
  std::unique_ptr<Transformer> policy_;
  std::shared_ptr<WeightSource> weights_;
  int64_t version_ = 0;
};

// The random stream of one sample: the same for (seed, step, prompt, sample) wherever it is drawn.
uint64_t SampleStream(int64_t step, int64_t prompt_id, int64_t sample_index);

class InProcessScorer : public Scorer {
 public:
  // `dpo` may be null (plain PPO); a null `dpo_reference` means the DPO model's reference is
  // `reference`. Log-probs for the KL use softmax(logits / temperature), the sampling
  // distribution; the DPO log-ratio uses temperature 1, as DPO trained it.
  InProcessScorer(std::unique_ptr<Transformer> reference, std::unique_ptr<Transformer> dpo,
                  std::unique_ptr<Transformer> dpo_reference, std::unique_ptr<Transformer> reward_model,
                  double temperature);
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::unique_ptr<Transformer> reference_, dpo_, dpo_reference_, reward_model_;
  double temperature_;
};

// A model with its optimiser and schedule.
class TrainableModel {
 public:
  TrainableModel(std::unique_ptr<Transformer> model, const ActorTrainOptions& options);
  Transformer& model() { return *model_; }
  // Clips the gradients, steps the optimiser at the scheduled rate, zeroes the gradients.
  void Step(Metrics& metrics, const std::string& prefix);
  // The mini-batches of `epochs` passes over `n` rows, shuffled by (seed, step, epoch).
  std::vector<std::vector<int64_t>> MiniBatches(int64_t n, int64_t step) const;
  const ActorTrainOptions& options() const { return options_; }
  absl::Status Save(const std::string& dir, const std::string& tokenizer_dir) const;
  absl::Status Restore(const std::string& dir);

 private:
  std::unique_ptr<Transformer> model_;
  ActorTrainOptions options_;
  std::vector<at::Tensor> params_;
  AdamW optimizer_;
  ScheduleOptions schedule_;
};

class InProcessCritic : public Critic {
 public:
  // `value_model` has a score head (initialised from the RM); `tokenizer_dir` goes into saves.
  InProcessCritic(std::unique_ptr<Transformer> value_model, const ActorTrainOptions& options, double value_clip,
                  std::string tokenizer_dir);
  absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) override;
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;

 private:
  TrainableModel trainable_;
  double value_clip_;
  std::string tokenizer_dir_;
};

class InProcessLearner : public Learner {
 public:
  // `temperature`: the sampling temperature, so log-probs are those of the behaviour distribution.
  InProcessLearner(std::unique_ptr<Transformer> policy, const ActorTrainOptions& options, double clip_eps,
                   double temperature, std::string tokenizer_dir, std::shared_ptr<WeightPublisher> weights);
  absl::StatusOr<PolicyEvaluation> Evaluate(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) override;
  absl::StatusOr<int64_t> PublishWeights() override;
  int64_t version() const override { return version_; }
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  absl::Status SavePolicy(const std::string& dir) override;
  const Transformer& policy() { return trainable_.model(); }

 private:
  TrainableModel trainable_;
  double clip_eps_, temperature_;
  std::string tokenizer_dir_;
  std::shared_ptr<WeightPublisher> weights_;
  int64_t version_ = 0;
};

}  // namespace rto
