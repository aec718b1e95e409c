// The critic role's actor: the value model (initialised from the reward model) with its
// optimiser; values per response token, and training on returns with the clipped value loss.
// Not thread-safe: one thread (its mailbox's).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/actors/roles.h"
#include "common/actors/rto_job.h"
#include "common/actors/train_mini_batches.h"
#include "common/train/trainable_model.h"

namespace rto {

class InProcessCritic : public Critic {
 public:
  // `value_model` has a score head (initialised from the RM); `tokenizer_dir` goes into saves.
  // `data_parallel`: the group of ranks this critic trains with (null: alone); every rank's Train
  // gets the same experience and reports the metrics of all of it.
  // `retokenizer`: set when the value model has a tokenizer of its own (its values are mapped
  // back to the policy's tokens, see Retokenizer); null: it reads the policy's tokens.
  InProcessCritic(std::unique_ptr<Transformer> value_model, const ActorTrainOptions& options, double value_clip,
                  std::string tokenizer_dir, std::unique_ptr<DataParallelGroup> data_parallel = nullptr,
                  std::unique_ptr<Retokenizer> retokenizer = nullptr);
  absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) override;
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;

 private:
  std::unique_ptr<Transformer> value_model_;
  std::unique_ptr<DataParallelGroup> data_parallel_;
  ActorTrainOptions options_;
  TrainableModel trainable_;  // over *value_model_
  double value_clip_;
  std::string tokenizer_dir_;
  std::unique_ptr<Retokenizer> retokenizer_;
};

// The critic actor of a config, a rank of `data_parallel` when given; null for the critic-free
// estimators (GRPO, RLOO, REINFORCE++).
absl::StatusOr<std::unique_ptr<InProcessCritic>> MakeCritic(const RtoJobConfig& config,
                                                            std::unique_ptr<DataParallelGroup> data_parallel = nullptr);

}  // namespace rto
