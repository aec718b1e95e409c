// Weight broadcast from the learner to the rollout workers (DESIGN.md section 3): the learner
// hosts a c10d TCPStore; learner (rank 0) and workers form a torch c10d process group, Gloo on
// the CPU and NCCL for weights on CUDA; and the learner broadcasts the parameters, in a fixed
// order, as flattened byte buckets of bounded size, behind a header carrying the version and the
// layout.
//
// When every rank reaches the learner's shared-memory segment (one host, one /dev/shm) and the
// weights are on the CPU, the bytes go through a shared-memory ring instead (the learner writes
// them once, each worker reads them once, at memory speed; shared_memory_ring.h): the ranks agree
// on it when the group forms, so the choice is automatic, and transport() tells which it is.
// The header still goes over Gloo.
//
// Every collective has a timeout: a dead or stuck peer makes Broadcast fail within it instead of
// hanging. Membership changes make a new group generation (keys prefixed by the generation in the
// same store), so a worker that joins late or restarts is brought back by re-forming the group.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/weight_sync/group_options.h"

namespace rto {

// The learner's store server, which outlives group generations.
class WeightStoreServer {
 public:
  // port 0 picks a free port; see port().
  static absl::StatusOr<std::unique_ptr<WeightStoreServer>> Start(const std::string& host, int port,
                                                                  std::chrono::milliseconds timeout);
  ~WeightStoreServer();
  int port() const;

 private:
  friend class WeightGroup;
  struct Impl;
  explicit WeightStoreServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct BroadcastStats {
  int64_t version = 0;
  int64_t bytes = 0;
  int64_t buckets = 0;  // Gloo/NCCL buckets or shared-memory chunks
  double seconds = 0;
  std::string transport;  // "shm", "gloo" or "nccl"
};

class WeightGroup {
 public:
  // Forms the group; every rank of the generation must call this within the timeout. Rank 0
  // passes the server it hosts; the others connect to options.store_host:store_port.
  static absl::StatusOr<std::unique_ptr<WeightGroup>> Join(const WeightGroupOptions& options,
                                                           WeightStoreServer* server = nullptr);
  ~WeightGroup();

  // Rank 0 sends `tensors` tagged `version`; the others receive into theirs (same shapes, dtypes
  // and order, checked against the header: a mismatch is an error after the transfer, so the
  // sender is never left waiting). Tensors must be contiguous. Returns the version received.
  absl::StatusOr<BroadcastStats> Broadcast(const std::vector<at::Tensor>& tensors, int64_t version);

  int rank() const { return options_.rank; }
  int64_t generation() const { return options_.generation; }
  // "shm", "gloo" or "nccl"; with `why` when shared memory was possible but not taken.
  const std::string& transport() const { return transport_; }
  const std::string& why_not_shared_memory() const { return why_not_shared_memory_; }

 private:
  struct Impl;
  WeightGroup(const WeightGroupOptions& options, std::unique_ptr<Impl> impl);
  // One broadcast from rank 0, waited on with the timeout.
  absl::Status BroadcastOne(at::Tensor& tensor);
  // Whether every rank opened the learner's ring (an all-reduce): keeps it, or drops it.
  absl::Status AgreeOnSharedMemory();

  WeightGroupOptions options_;
  std::unique_ptr<Impl> impl_;
  std::string transport_, why_not_shared_memory_;
};

// A hash of the tensors' bytes (FNV-1a over each tensor in order): equal weights hash equal, so
// a worker's weights can be checked against the learner's.
uint64_t HashTensors(const std::vector<at::Tensor>& tensors);

}  // namespace rto
