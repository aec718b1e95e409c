// A model being trained by an RL actor (the learner's policy, the critic's value model): AdamW,
// a learning-rate schedule over all its optimiser steps, gradient clipping, PPO-style epochs of
// shuffled mini-batches, and its state on disk. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/model/transformer.h"
#include "common/train/optimizer.h"
#include "common/util/metrics.h"

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

}  // namespace rto
