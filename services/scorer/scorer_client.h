// The scorer role over gRPC: the Scorer interface implemented by calls to a remote
// scorer service (and a pool of them). Every call has a deadline; idempotent calls
// retry (common/rpc/call.h); training calls are never retried. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/call.h"
#include "rto/v1/scorer.grpc.pb.h"

namespace rto {

class RemoteScorer : public Scorer {
 public:
  RemoteScorer(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::unique_ptr<v1::Scorer::Stub> stub_;
  ClientOptions options_;
};

// M scorer replicas as one: trajectories split into M contiguous shares, scored in parallel.
class ScorerPool : public Scorer {
 public:
  explicit ScorerPool(std::vector<std::unique_ptr<Scorer>> replicas) : replicas_(std::move(replicas)) {}
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::vector<std::unique_ptr<Scorer>> replicas_;
};

}  // namespace rto
