#include "services/learner/learner_client.h"

#include <algorithm>
#include <future>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

RemoteLearner::RemoteLearner(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
                             std::shared_ptr<WeightPlan> plan)
    : stub_(v1::Learner::NewStub(channel)), options_(options), plan_(std::move(plan)) {}

absl::StatusOr<std::unique_ptr<RemoteLearner>> RemoteLearner::Create(std::shared_ptr<grpc::Channel> channel,
                                                                     ClientOptions options,
                                                                     std::shared_ptr<WeightPlan> plan,
                                                                     std::chrono::milliseconds status_deadline) {
  std::unique_ptr<RemoteLearner> l(new RemoteLearner(std::move(channel), options, std::move(plan)));
  l->options_.deadline = std::min(options.deadline, status_deadline);
  const absl::Status status = l->RefreshStatus();
  l->options_.deadline = options.deadline;
  RTO_RETURN_IF_ERROR(status);
  return l;
}

absl::Status RemoteLearner::RefreshStatus() {
  v1::LearnerStatusResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "learner Status", [&](grpc::ClientContext& c) {
    return stub_->Status(&c, v1::LearnerStatusRequest(), &response);
  }));
  version_ = response.version();
  store_port_ = response.store_port();
  return absl::OkStatus();
}

absl::StatusOr<PolicyEvaluation> RemoteLearner::LogProbs(const std::vector<Trajectory>& trajectories) {
  v1::TrajectoryBatch request;
  wire::ToProto(trajectories, &request);
  v1::PolicyEvaluation response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "learner Evaluate",
                           [&](grpc::ClientContext& c) { return stub_->Evaluate(&c, request, &response); }));
  return wire::FromProto(response);
}

absl::StatusOr<Metrics> RemoteLearner::Train(const PolicyExperience& e, int64_t step) {
  v1::PolicyExperience request;
  wire::ToProto(e, step, &request);
  v1::Stats response;
  RTO_RETURN_IF_ERROR(Call(options_, false, "learner Train",
                           [&](grpc::ClientContext& c) { return stub_->Train(&c, request, &response); }));
  version_ = response.version();
  return wire::FromProto(response);
}

absl::StatusOr<WeightSyncStats> RemoteLearner::PublishWeights(const std::optional<WeightGroupOptions>& group) {
  v1::PublishWeightsRequest request;
  wire::ToProto(group.value_or(plan_->For(0)), request.mutable_group());
  v1::PublishWeightsResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, false, "learner PublishWeights",
                           [&](grpc::ClientContext& c) { return stub_->PublishWeights(&c, request, &response); }));
  if (response.transport() != weight_transport_) {
    std::cerr << "coordinator: weights go to the rollout workers through " << response.transport() << "\n";
    weight_transport_ = response.transport();
  }
  return wire::FromProto(response);
}

absl::Status RemoteLearner::Save(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Learner::Stub::Save, "learner Save", dir);
}

absl::Status RemoteLearner::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(CheckpointCall(options_, *stub_, &v1::Learner::Stub::Restore, "learner Restore", dir));
  return RefreshStatus();
}

absl::Status RemoteLearner::SavePolicy(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Learner::Stub::SavePolicy, "learner SavePolicy", dir);
}

absl::StatusOr<WeightsFingerprint> RemoteLearner::Fingerprint() {
  v1::WeightsHashResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "learner WeightsHash", [&](grpc::ClientContext& c) {
    return stub_->WeightsHash(&c, v1::WeightsHashRequest(), &response);
  }));
  return wire::FromProto(response);
}

}  // namespace rto
