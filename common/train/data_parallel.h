// Data parallelism for a trained role (the learner or the critic over N ranks): the ranks form a
// c10d Gloo group over a TCPStore that rank 0 hosts; each takes its share of the rows of every
// mini-batch, and the gradients are summed over the ranks in flat buckets before the optimiser
// steps, so every rank applies the same update and the weights stay equal. The loss of each rank
// is normalised by the whole mini-batch's token count, so the summed gradient is the one a single
// rank computes over the whole mini-batch (up to the order of the float sums).
//
// Every collective has a timeout: a dead peer makes the call fail within it, naming the rank.
// Not thread-safe: one group belongs to one actor thread.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/runtime/rendezvous.h"

namespace rto {

struct DataParallelOptions {
  std::string host = "127.0.0.1";  // rank 0's address, where its rendezvous listens
  int port = 0;                    // the rendezvous's port
  int rank = 0;
  int world_size = 1;
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

  // Rank 0's `bytes` on every rank (what others pass is ignored): how rank 0 hands each train
  // call's experience to the other ranks.
  absl::StatusOr<std::string> BroadcastBytes(const std::string& bytes);

  // The element-wise sum of `values` over the ranks (e.g. per-rank loss and token sums, so that
  // every rank reports the metrics of the whole batch). REQUIRES: the same size on every rank.
  absl::StatusOr<std::vector<double>> SumOverRanks(const std::vector<double>& values);

 private:
  struct Impl;
  DataParallelGroup(DataParallelOptions options, std::unique_ptr<Impl> impl);
  // Runs one collective on `tensors`, waiting at most the timeout; `what` names it in errors.
  absl::Status Collective(const char* what, std::vector<at::Tensor>& tensors, bool broadcast);
  DataParallelOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Rank `rank`'s share of `rows` among `world_size` ranks: a contiguous part, the first
// rows.size() % world_size ranks taking one more. Shares may be empty.
std::vector<int64_t> RankShare(const std::vector<int64_t>& rows, int rank, int world_size);

}  // namespace rto
