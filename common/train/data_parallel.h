// Data parallelism for a trained role (the learner or the critic over N ranks): the ranks form a
// c10d group over a TCPStore that rank 0 hosts (Gloo; NCCL for the tensors of CUDA models); each
// takes its share of the rows of every mini-batch, and the gradients are summed over the ranks in
// flat buckets before the optimiser steps. The loss of each rank is normalised by the whole
// mini-batch's token count, so the summed gradient is the one a single rank computes over the
// whole mini-batch (up to the order of the float sums).
//
// The optimiser state is sharded (ZeRO stage 1): each parameter's Adam moments live on one rank,
// its owner (OptimizerOwners), which alone updates it; the owners then broadcast the updated
// weights, so every rank holds the same full weights after every step.
//
// Every collective has a timeout: a dead peer makes the call fail within it, naming the rank.
// Not thread-safe: one group belongs to one actor thread.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/runtime/rendezvous.h"

namespace rto {

struct DataParallelOptions {
  std::string name = "group";  // the group's keys in the store (groups of one store differ)
  // Prefixes the group's keys: a secret the ranks share (derived from their role's token), so
  // that a process reaching the store's port without it cannot join. Never logged.
  std::string secret;
  std::string host = "127.0.0.1";  // rank 0's address, where its rendezvous listens
  int port = 0;                    // the rendezvous's port
  int rank = 0;
  int world_size = 1;
  int cuda_device = -1;  // >= 0: the model is on this CUDA device; its tensors go through NCCL
  std::chrono::milliseconds timeout{60000};
  int64_t bucket_bytes = 25ll << 20;  // gradients are summed in flat buckets of about this size
};

class DataParallelGroup {
 public:
  // Every rank must call this within the timeout; rank 0 passes the rendezvous it hosts (and
  // keeps it alive as long as the group).
  static absl::StatusOr<std::unique_ptr<DataParallelGroup>> Join(const DataParallelOptions& options,
                                                                 Rendezvous* rendezvous = nullptr);
  ~DataParallelGroup();

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

  // Sums the gradients of `params` over the ranks, in place. Parameters without a gradient on
  // this rank take part with zeros (another rank may have one). REQUIRES: the same parameters,
  // in the same order, on every rank.
  absl::Status AllReduceGradients(const std::vector<at::Tensor>& params);

  // The element-wise sum, or maximum, of `values` over the ranks (e.g. per-rank loss and token
  // sums, so that every rank reports the metrics of the whole batch). REQUIRES: the same size on
  // every rank.
  absl::StatusOr<std::vector<double>> SumOverRanks(const std::vector<double>& values) {
    return Reduce("the sum", values, Op::kSum);
  }
  absl::StatusOr<std::vector<double>> MaxOverRanks(const std::vector<double>& values) {
    return Reduce("the maximum", values, Op::kMax);
  }

  // After each rank updated the parameters it owns (`owners[i]` is params[i]'s owner), every
  // rank gets every update: flat buckets broadcast from each owner. REQUIRES: the same
  // parameters and owners on every rank.
  absl::Status BroadcastFromOwners(const std::vector<at::Tensor>& params, const std::vector<int>& owners);

 private:
  struct Impl;
  enum class Op { kSum, kMax, kBroadcast };
  DataParallelGroup(DataParallelOptions options, std::unique_ptr<Impl> impl);
  absl::StatusOr<std::vector<double>> Reduce(const char* what, const std::vector<double>& values, Op op);
  // Runs one collective on `tensors` (kBroadcast: from `root`), waiting at most the timeout;
  // `what` names it in errors. CUDA tensors go through NCCL, CPU ones through Gloo.
  absl::Status Collective(const char* what, std::vector<at::Tensor>& tensors, Op op, int root = 0);
  // Every bucket of `params` (consecutive parameters of one dtype, about bucket_bytes each, those
  // of one owner when `owners` is given) flattened into one tensor, `run` on it, and copied back
  // (`of` picks the tensor of a parameter: itself or its gradient).
  absl::Status ForEachBucket(const std::vector<at::Tensor>& params, const std::vector<int>* owners,
                             const std::function<at::Tensor(const at::Tensor&)>& of,
                             const std::function<absl::Status(at::Tensor&, int owner)>& run);
  DataParallelOptions options_;
  std::unique_ptr<Impl> impl_;
};

// group->SumOverRanks(values) and group->MaxOverRanks(values); `values` themselves without a group.
inline absl::StatusOr<std::vector<double>> SumOverRanks(DataParallelGroup* group, const std::vector<double>& values) {
  return group == nullptr ? values : group->SumOverRanks(values);
}
inline absl::StatusOr<std::vector<double>> MaxOverRanks(DataParallelGroup* group, const std::vector<double>& values) {
  return group == nullptr ? values : group->MaxOverRanks(values);
}

// Which rank's optimiser owns each of `params` under ZeRO stage 1: contiguous runs of parameters
// of about equal element counts, in order (rank 0 the first run). Ranks may own nothing.
std::vector<int> OptimizerOwners(const std::vector<at::Tensor>& params, int world_size);

// Rank `rank`'s share of `rows` among `world_size` ranks: a contiguous part, the first
// rows.size() % world_size ranks taking one more. Shares may be empty.
std::vector<int64_t> RankShare(const std::vector<int64_t>& rows, int rank, int world_size);

}  // namespace rto
