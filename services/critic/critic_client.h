// The critic role over gRPC: the Critic interface implemented by calls to a remote
// critic service. Every call has a deadline; idempotent calls
// retry (common/rpc/call.h); training calls are never retried. Torch-free.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"
#include "common/rpc/call.h"
#include "rto/v1/critic.grpc.pb.h"

namespace rto {

class RemoteCritic : public Critic {
 public:
  RemoteCritic(std::shared_ptr<grpc::Channel> channel, ClientOptions options);
  absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) override;
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  // Whether the critic's actor answers within `deadline`: an idle one does at once, one still
  // busy with a call of an earlier coordinator does not.
  absl::Status Probe(std::chrono::milliseconds deadline);

 private:
  std::unique_ptr<v1::Critic::Stub> stub_;
  ClientOptions options_;
};

}  // namespace rto
