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
// The header still goes over Gloo. Weights on CUDA take the same road through a CUDA IPC buffer
// when every rank opens the learner's (one host; a learner and workers sharing one GPU, which
// NCCL refuses), NCCL otherwise (cuda_ipc.h).
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
#include "common/runtime/rendezvous.h"
#include "common/weight_sync/group_options.h"

namespace c10d {
class Backend;
}

namespace rto {

struct BroadcastStats {
  int64_t version = 0;
  int64_t bytes = 0;
  int64_t buckets = 0;  // Gloo/NCCL buckets or shared-memory chunks
  double seconds = 0;
  std::string transport;  // "shm", "gloo", "nccl" or "cuda_ipc"
};

class WeightGroup {
 public:
  // Forms the group; every rank of the generation must call this within the timeout. Rank 0
  // passes the server it hosts; the others connect to options.store_host:store_port.
  static absl::StatusOr<std::unique_ptr<WeightGroup>> Join(const WeightGroupOptions& options,
                                                           Rendezvous* server = nullptr);
  ~WeightGroup();

  // Rank 0 sends `tensors` tagged `version`; the others receive into theirs (same shapes, dtypes
  // and order, checked against the header: a mismatch is an error after the transfer, so the
  // sender is never left waiting). Tensors must be contiguous. Returns the version received.
  absl::StatusOr<BroadcastStats> Broadcast(const std::vector<at::Tensor>& tensors, int64_t version);

  int rank() const { return options_.rank; }
  int64_t generation() const { return options_.generation; }
  // "shm", "gloo", "nccl" or "cuda_ipc" (decided at the first broadcast for CUDA weights); and
  // why a same-host transport (shared memory, CUDA IPC) was not taken, when it was not.
  const std::string& transport() const { return transport_; }
  const std::string& why_not_same_host() const { return why_not_same_host_; }

 private:
  struct Impl;
  // What rank 0 broadcasts before the bytes: version, tensor count, total bytes; and whether
  // this rank's tensors have that layout (count, bytes, shapes and dtypes).
  struct Header {
    int64_t version = 0, count = 0, total = 0;
    bool layout_matches = false;
  };
  WeightGroup(const WeightGroupOptions& options, std::unique_ptr<Impl> impl);
  // One broadcast from rank 0, waited on with the timeout.
  absl::Status BroadcastOne(at::Tensor& tensor, c10d::Backend& backend);
  absl::StatusOr<Header> ExchangeHeader(const std::vector<at::Tensor>& tensors, int64_t version, int64_t total,
                                        c10d::Backend& backend, at::Device device);
  absl::Status LayoutError(const Header& header, const std::vector<at::Tensor>& tensors, int64_t total) const;
  // Whether every rank says `mine` (an all-reduce over the control group).
  absl::StatusOr<bool> EveryRank(bool mine);
  // Rank 0 sets `key` to `value` in the generation's store; the others wait for it and get it.
  std::string Offer(const std::string& key, const std::string& value);
  // Whether every rank opened the learner's ring: keeps it, or drops it.
  absl::Status AgreeOnSharedMemory();
#ifdef USE_C10D_NCCL
  // The same for a CUDA IPC buffer of the weights' size (CUDA weights, at the first broadcast).
  absl::Status AgreeOnCudaIpc(int64_t total);
  absl::StatusOr<BroadcastStats> BroadcastThroughCudaIpc(const std::vector<at::Tensor>& tensors, int64_t version,
                                                         int64_t total, std::chrono::steady_clock::time_point start);
#endif

  WeightGroupOptions options_;
  std::unique_ptr<Impl> impl_;
  std::string transport_, why_not_same_host_;
};

// A hash of the tensors' bytes (FNV-1a over each tensor in order): equal weights hash equal, so
// a worker's weights can be checked against the learner's.
uint64_t HashTensors(const std::vector<at::Tensor>& tensors);

}  // namespace rto
