// The training loop the learner and the critic share: epochs of shuffled mini-batches of a
// trajectory batch, each split into micro-batches for memory, one optimiser step per mini-batch.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/actors/trajectory_batch.h"
#include "common/train/data_parallel.h"
#include "common/train/trainable_model.h"
#include "common/util/status_macros.h"

namespace rto {

// How an RL actor trains: its optimiser, and PPO-style epochs over shuffled mini-batches split
// into micro-batches.
struct ActorTrainOptions {
  OptimizerOptions optimizer{.lr = 1e-5};
  Precision precision = Precision::kFp32;  // <role>.precision: fp32, or bf16 (mixed precision)
  int64_t epochs = 1;
  int64_t mini_batch = 16;   // trajectories per optimiser step
  int64_t micro_batch = 16;  // trajectories per forward/backward
  uint64_t seed = 0;         // keys the mini-batch shuffles (with the step)
};

// The mini-batches of `options.epochs` passes over `n` rows, shuffled by (seed, step, epoch).
std::vector<std::vector<int64_t>> MiniBatches(const ActorTrainOptions& options, int64_t n, int64_t step);

// Runs `loss_of(micro_batch, rows, mini_batch_index)` (which returns the summed per-token loss)
// over the micro-batches of each mini-batch, normalised by the mini-batch's tokens, and steps
// once per mini-batch. When the model trains data-parallel, this rank runs only its share of each
// mini-batch's rows (RankShare), still normalised by the whole mini-batch's tokens, and the
// step sums the gradients over the ranks.
template <typename LossFn>
absl::Status TrainMiniBatches(TrainableModel& trainable, const ActorTrainOptions& o, const TrajectoryBatch& batch,
                              int64_t step, Metrics& metrics, const std::string& prefix, LossFn loss_of) {
  int64_t index = 0;
  for (const std::vector<int64_t>& mini : MiniBatches(o, batch.ids.size(0), step)) {
    const double tokens =
        batch.mask.index_select(0, at::tensor(mini, at::kLong).to(batch.mask.device())).sum().item<double>();
    const DataParallelGroup* group = trainable.data_parallel();
    const std::vector<int64_t> mine = group ? RankShare(mini, group->rank(), group->world_size()) : mini;
    for (size_t begin = 0; begin < mine.size(); begin += o.micro_batch) {
      std::vector<int64_t> rows(mine.begin() + begin,
                                mine.begin() + std::min(mine.size(), begin + static_cast<size_t>(o.micro_batch)));
      at::Tensor loss_sum = loss_of(SelectRows(batch, rows), rows, index);
      (loss_sum / tokens).backward();
    }
    RTO_RETURN_IF_ERROR(trainable.Step(metrics, prefix));
    ++index;
  }
  return absl::OkStatus();
}

}  // namespace rto
