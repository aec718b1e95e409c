// The learner role over gRPC: the Learner interface implemented by calls to a remote
// learner service. Every call has a deadline; idempotent calls
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
#include "rto/v1/learner.grpc.pb.h"

namespace rto {

class RemoteLearner : public Learner {
 public:
  // Asks the learner for its version and weight store port (see store_port()), waiting at most
  // `status_deadline`: an idle learner answers at once, one still busy with a call of an earlier
  // coordinator (a data-parallel rank waiting for a peer that never got the call) does not.
  static absl::StatusOr<std::unique_ptr<RemoteLearner>> Create(std::shared_ptr<grpc::Channel> channel,
                                                               ClientOptions options, std::shared_ptr<WeightPlan> plan,
                                                               std::chrono::milliseconds status_deadline);
  absl::StatusOr<PolicyEvaluation> LogProbs(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) override;
  // Without a group, rank 0 of the plan's current generation.
  absl::StatusOr<WeightSyncStats> PublishWeights(const std::optional<WeightGroupOptions>& group) override;
  int64_t version() const override { return version_; }
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  absl::Status SavePolicy(const std::string& dir) override;
  absl::StatusOr<WeightsFingerprint> Fingerprint() override;
  int store_port() const { return store_port_; }

 private:
  RemoteLearner(std::shared_ptr<grpc::Channel> channel, ClientOptions options, std::shared_ptr<WeightPlan> plan);
  absl::Status RefreshStatus();
  std::unique_ptr<v1::Learner::Stub> stub_;
  ClientOptions options_;
  std::shared_ptr<WeightPlan> plan_;
  int64_t version_ = 0;
  int store_port_ = 0;
  std::string weight_transport_;  // of the last broadcast, logged when it changes
};

}  // namespace rto
