// The rollout role over gRPC: the Rollout interface implemented by calls to a remote
// rollout service (and a pool of them). Every call has a deadline; idempotent calls
// retry (common/rpc/call.h); training calls are never retried. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/call.h"
#include "common/rpc/weight_plan.h"
#include "rto/v1/rollout.grpc.pb.h"

namespace rto {

class RemoteRollout : public Rollout {
 public:
  RemoteRollout(std::shared_ptr<grpc::Channel> channel, ClientOptions options, std::shared_ptr<WeightPlan> plan,
                int rank);
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  // Without a group in `sync`, this worker's from the plan (its rank, the current generation).
  absl::StatusOr<WeightSyncStats> SyncWeights(const WeightSync& sync) override;
  absl::StatusOr<WeightsFingerprint> Fingerprint() override;

 private:
  std::unique_ptr<v1::Rollout::Stub> stub_;
  ClientOptions options_;
  std::shared_ptr<WeightPlan> plan_;
  int rank_;
};

// N rollout workers as one: prompts are split into N contiguous shares (samples of a prompt stay
// on one worker), generated in parallel and put back in order; weights sync on all at once.
class RolloutPool : public Rollout {
 public:
  explicit RolloutPool(std::vector<std::unique_ptr<RemoteRollout>> workers) : workers_(std::move(workers)) {}
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  // Every worker at once, each in its own rank of the plan; the slowest worker's time.
  absl::StatusOr<WeightSyncStats> SyncWeights(const WeightSync& sync) override;
  // The workers' common fingerprint; an error when one holds other weights than the first.
  absl::StatusOr<WeightsFingerprint> Fingerprint() override;
  const std::vector<std::unique_ptr<RemoteRollout>>& workers() const { return workers_; }
  // Swaps in the client of a replacement worker (between calls, never during one).
  void Replace(size_t index, std::unique_ptr<RemoteRollout> worker) { workers_[index] = std::move(worker); }

 private:
  std::vector<std::unique_ptr<RemoteRollout>> workers_;
};

}  // namespace rto
