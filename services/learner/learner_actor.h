// The learner role's actor: the policy with its optimiser; the learner's own log-probs (PPO's
// old log-probs) and entropy, the PPO update, checkpoints, and publishing its weights to the
// rollouts. Not thread-safe: one thread (its mailbox's).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/actors/roles.h"
#include "common/actors/rto_job.h"
#include "common/actors/train_mini_batches.h"
#include "common/actors/weight_channel.h"
#include "common/train/trainable_model.h"

namespace rto {

class InProcessLearner : public Learner {
 public:
  // `temperature`: the sampling temperature, so log-probs are those of the behaviour distribution.
  // `data_parallel`: the group of ranks this learner trains with (null: alone); every rank's
  // Train gets the same experience and reports the metrics of all of it.
  InProcessLearner(std::unique_ptr<Transformer> policy, const ActorTrainOptions& options, double clip_eps,
                   double temperature, std::string tokenizer_dir, std::shared_ptr<WeightPublisher> weights,
                   std::unique_ptr<DataParallelGroup> data_parallel = nullptr);
  absl::StatusOr<PolicyEvaluation> LogProbs(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) override;
  absl::StatusOr<WeightSyncStats> PublishWeights(const std::optional<WeightGroupOptions>& group) override;
  absl::StatusOr<WeightsFingerprint> Fingerprint() override { return rto::Fingerprint(trainable_.master(), version_); }
  int64_t version() const override { return version_; }
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  absl::Status SavePolicy(const std::string& dir) override;
  const Transformer& policy() { return trainable_.master(); }

 private:
  std::unique_ptr<Transformer> policy_;
  std::unique_ptr<DataParallelGroup> data_parallel_;
  ActorTrainOptions options_;
  TrainableModel trainable_;  // over *policy_
  double clip_eps_, temperature_;
  std::string tokenizer_dir_;
  std::shared_ptr<WeightPublisher> weights_;
  int64_t version_ = 0;
};

// The learner actor of a config, publishing its weights through `weights`, a rank of
// `data_parallel` when given.
absl::StatusOr<std::unique_ptr<InProcessLearner>> MakeLearner(
    const RtoJobConfig& config, std::shared_ptr<WeightPublisher> weights,
    std::unique_ptr<DataParallelGroup> data_parallel = nullptr);

}  // namespace rto
