// The loop every offline job shares: optimiser steps over a shuffled dataset in micro-batches
// (global batch = micro_batch x grad_accum), gradient clipping, the learning-rate schedule,
// metrics and progress, checkpoints holding everything resume needs (weights, optimiser
// moments, step, data position), and resume from the newest complete checkpoint. A job brings
// the model, its dataset size and a function that computes one step's loss and gradients.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/config.h"
#include "common/data/batching.h"
#include "common/model/transformer.h"
#include "common/train/checkpoint_manager.h"
#include "common/train/run_dir.h"
#include "common/train/trainable_model.h"
#include "common/util/metrics.h"

namespace rto {

struct TrainOptions {
  int64_t steps = 100;  // optimiser steps
  int64_t micro_batch = 8;
  int64_t grad_accum = 1;                                        // global batch = micro_batch * grad_accum
  OptimizerOptions optimizer{.lr = 1e-4, .schedule = "cosine"};  // train.lr, ...; the schedule spans `steps`
  int64_t seed = 0;
  int64_t checkpoint_every = 50;
  int64_t keep_checkpoints = 2;

  // Reads train.* and checkpoint.* keys.
  absl::Status Read(ConfigReader& config);
};

class Trainer {
 public:
  // Computes the loss of one optimiser step over `micro_batches` (row indices of the dataset),
  // calls backward on it (per micro-batch, as it likes) and returns the step's metrics.
  using StepFunction = std::function<absl::StatusOr<Metrics>(const std::vector<std::vector<int64_t>>& micro_batches)>;

  // Opens the run directory; with `resume`, restores the newest checkpoint into `model`.
  // `tokenizer_dir` is copied into every saved model so that checkpoints are complete HF dirs.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(Transformer& model, const TrainOptions& options,
                                                         int64_t dataset_size, const std::string& out,
                                                         const std::string& resolved_config, bool resume,
                                                         const std::string& tokenizer_dir);

  // Runs the remaining steps, then writes `<out>/final` (the model) and summary.json, which
  // holds the last step's metrics plus `extra_summary`.
  absl::Status Run(const StepFunction& step, const Metrics& extra_summary = {});

 private:
  Trainer(Transformer& model, const TrainOptions& options, RunDirectory run, int64_t dataset_size,
          std::string tokenizer_dir);
  absl::Status Save(const std::string& dir, int64_t step) const;
  absl::Status Restore(const std::string& dir);

  Transformer& model_;
  TrainOptions options_;
  RunDirectory run_;
  TrainableModel trainable_;
  DataOrder order_;
  CheckpointManager checkpoints_;
  std::string tokenizer_dir_;
  int64_t step_ = 0;
};

}  // namespace rto
