#include "services/critic/critic_client.h"

#include <algorithm>
#include <future>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

RemoteCritic::RemoteCritic(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : stub_(v1::Critic::NewStub(channel)), options_(options) {}

absl::StatusOr<TokenValues> RemoteCritic::Values(const std::vector<Trajectory>& trajectories) {
  v1::TrajectoryBatch request;
  wire::ToProto(trajectories, &request);
  v1::TokenValues response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "critic Values",
                           [&](grpc::ClientContext& c) { return stub_->Values(&c, request, &response); }));
  return wire::FromProto(response, "values");
}

absl::StatusOr<Metrics> RemoteCritic::Train(const ValueExperience& e, int64_t step) {
  v1::ValueExperience request;
  wire::ToProto(e, step, &request);
  v1::Stats response;
  RTO_RETURN_IF_ERROR(Call(options_, false, "critic Train",
                           [&](grpc::ClientContext& c) { return stub_->Train(&c, request, &response); }));
  return wire::FromProto(response);
}

absl::Status RemoteCritic::Save(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Critic::Stub::Save, "critic Save", dir);
}

absl::Status RemoteCritic::Restore(const std::string& dir) {
  return CheckpointCall(options_, *stub_, &v1::Critic::Stub::Restore, "critic Restore", dir);
}

absl::Status RemoteCritic::Probe(std::chrono::milliseconds deadline) {
  ClientOptions o = options_;
  o.deadline = std::min(o.deadline, deadline);
  v1::CriticStatusResponse response;
  return Call(o, true, "critic Status",
              [&](grpc::ClientContext& c) { return stub_->Status(&c, v1::CriticStatusRequest(), &response); });
}

}  // namespace rto
