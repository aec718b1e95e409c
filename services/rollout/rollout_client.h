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
  absl::Status SyncWeights(int64_t version) override;
  absl::StatusOr<v1::WeightsHashResponse> WeightsHash();

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
  absl::Status SyncWeights(int64_t version) override;
  const std::vector<std::unique_ptr<RemoteRollout>>& workers() const { return workers_; }
  // Swaps in the client of a replacement worker (between calls, never during one).
  void Replace(size_t index, std::unique_ptr<RemoteRollout> worker) { workers_[index] = std::move(worker); }

 private:
  std::vector<std::unique_ptr<RemoteRollout>> workers_;
};

}  // namespace rto
