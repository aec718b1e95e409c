// A model being trained: AdamW, a learning-rate schedule over all its optimiser steps, gradient
// clipping, and its state on disk (the model as an HF directory with its tokenizer files, the
// optimiser's moments and step count). The offline Trainer and the RL learner and critic all
// train through it. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config/config.h"
#include "common/model/transformer.h"
#include "common/train/data_parallel.h"
#include "common/train/optimizer.h"
#include "common/util/metrics.h"

namespace rto {

// How a model is optimised (and trained): train.* of the offline jobs, actor.* and critic.* of
// the RL job.
struct OptimizerOptions {
  double lr = 1e-4;
  std::string schedule = "constant";
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  bool activation_checkpointing = false;  // Transformer::SetActivationCheckpointing
  int64_t total_steps = 1;                // optimiser steps the schedule spans (set by the job, not read)

  // Reads <prefix>.lr, .schedule, .warmup_steps, .min_lr_ratio, .weight_decay, .max_grad_norm
  // and .activation_checkpointing, and checks the schedule's name.
  absl::Status Read(ConfigReader& config, const std::string& prefix);
};

// The dtype that forward and backward passes run in. kBf16 is mixed precision: a bf16 copy of the
// weights computes (its gradients bf16 too), while the fp32 weights (the master weights) and the
// Adam moments stay fp32: 4 + 8 + 2 + 2 bytes per parameter, as many as fp32 training's.
enum class Precision { kFp32, kBf16 };
// "fp32" or "bf16".
absl::StatusOr<Precision> ParsePrecision(const std::string& name);

class TrainableModel {
 public:
  // Switches the parameters to require gradients, and activation checkpointing as the options
  // say. REQUIRES: options.schedule names a schedule (Read checks it); `model` is float32 when
  // precision is kBf16.
  TrainableModel(Transformer& model, const OptimizerOptions& options, Precision precision = Precision::kFp32);
  ~TrainableModel();
  // The model that forward and backward passes run on: the bf16 copy under kBf16, else the
  // master.
  Transformer& model() { return compute_ ? *compute_ : master_; }
  // The weights the optimiser updates, saves and restores (the model given to the constructor):
  // what checkpoints hold and what goes to the rollout workers.
  const Transformer& master() const { return master_; }
  // Clips the gradients, steps the optimiser at the scheduled rate, zeroes the gradients, and
  // reports <prefix>lr and <prefix>grad_norm (the largest pre-clip norm of the metrics' step).
  // Under kBf16 the bf16 gradients update the fp32 masters (clipped by their norm), which are
  // then copied into the bf16 model.
  // With a data-parallel group, the gradients are first summed over its ranks, this rank updates
  // the parameters whose optimiser state it holds, and the owners broadcast their updates (see
  // data_parallel.h); an error of the group is returned.
  absl::Status Step(Metrics& metrics, const std::string& prefix = "");
  // The group whose ranks train this model together, each holding its shard of the optimiser
  // state; null (the default): this process alone. REQUIRES: called before any Step or Restore;
  // the group outlives its use here.
  void SetDataParallel(DataParallelGroup* group);
  DataParallelGroup* data_parallel() const { return data_parallel_; }
  int64_t optimizer_steps() const { return optimizer_.steps(); }
  // dir/model (HF directory + tokenizer files of `tokenizer_dir`), the optimiser's moments and
  // dir/optimizer.json (the step count and the number of shards). The moments are in
  // dir/optimizer.safetensors, or, from N data-parallel ranks, in optimizer-<r>-of-<N>.safetensors,
  // one shard per rank; rank 0 alone writes the rest. Every rank of a group calls Save with the
  // same directory. Restore reads a checkpoint back into this model, whatever the number of
  // ranks that saved it (its shards re-shard to this group's).
  absl::Status Save(const std::string& dir, const std::string& tokenizer_dir) const;
  absl::Status Restore(const std::string& dir);

 private:
  void CopyMasterIntoCompute();
  // Clips the gradients of `params` (the computing model's) to options_.max_grad_norm and returns
  // their global norm before clipping. Under ZeRO-1 each rank computes the part of the norm of the
  // parameters it updates, the ranks sum them, and each clips only those.
  absl::StatusOr<double> ClipGradients(const std::vector<at::Tensor>& params);
  Transformer& master_;
  std::unique_ptr<Transformer> compute_;  // the bf16 copy under kBf16, else null
  OptimizerOptions options_;
  std::vector<at::Tensor> params_;          // the master's
  std::vector<at::Tensor> compute_params_;  // the bf16 copy's, in the same order
  DataParallelGroup* data_parallel_ = nullptr;
  std::vector<int> owners_;  // under a group: the rank holding each parameter's optimiser state
  std::vector<bool> owned_;  // under a group: whether this rank holds it
  AdamW optimizer_;
  ScheduleOptions schedule_;
};

}  // namespace rto
