#include "services/rollout/rollout_client.h"

#include <algorithm>
#include <future>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

RemoteRollout::RemoteRollout(std::shared_ptr<grpc::Channel> channel, ClientOptions options,
                             std::shared_ptr<WeightPlan> plan, int rank)
    : stub_(v1::Rollout::NewStub(channel)), options_(options), plan_(std::move(plan)), rank_(rank) {}

absl::StatusOr<std::vector<Trajectory>> RemoteRollout::Generate(const RolloutRequest& r) {
  v1::GenerateRequest request;
  wire::ToProto(r, &request);
  std::vector<Trajectory> out;
  RTO_RETURN_IF_ERROR(Call(options_, true, "rollout Generate", [&](grpc::ClientContext& context) {
    out.clear();
    auto reader = stub_->Generate(&context, request);
    v1::GenerateResponse chunk;
    while (reader->Read(&chunk)) {
      for (const v1::Trajectory& t : chunk.trajectories()) {
        absl::StatusOr<Trajectory> one = wire::FromProto(t);
        if (!one.ok()) {
          context.TryCancel();
          return grpc::Status(grpc::StatusCode::INTERNAL, std::string(one.status().message()));
        }
        out.push_back(std::move(*one));
      }
    }
    return reader->Finish();
  }));
  // They arrive in finishing order; the interface returns request order (ids were assigned in it).
  std::sort(out.begin(), out.end(), [](const Trajectory& a, const Trajectory& b) { return a.id < b.id; });
  return out;
}

absl::StatusOr<WeightSyncStats> RemoteRollout::SyncWeights(const WeightSync& sync) {
  v1::SyncWeightsRequest request;
  wire::ToProto(WeightSync{sync.version, sync.group.value_or(plan_->For(rank_))}, &request);
  v1::SyncWeightsResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, false, absl::StrCat("rollout rank ", rank_, " SyncWeights"),
                           [&](grpc::ClientContext& c) { return stub_->SyncWeights(&c, request, &response); }));
  return wire::FromProto(response);
}

absl::StatusOr<WeightsFingerprint> RemoteRollout::Fingerprint() {
  v1::WeightsHashResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "rollout WeightsHash", [&](grpc::ClientContext& c) {
    return stub_->WeightsHash(&c, v1::WeightsHashRequest(), &response);
  }));
  return wire::FromProto(response);
}

absl::StatusOr<std::vector<Trajectory>> RolloutPool::Generate(const RolloutRequest& request) {
  const size_t parts = std::min(workers_.size(), request.prompts.size());
  if (parts == 0) return absl::InvalidArgumentError("a rollout request with no prompts, or no workers");
  std::vector<std::future<absl::StatusOr<std::vector<Trajectory>>>> shares;
  for (size_t i = 0; i < parts; ++i) {
    auto [begin, end] = Share(request.prompts.size(), parts, i);
    RolloutRequest share = request;
    share.prompts.assign(request.prompts.begin() + begin, request.prompts.begin() + end);
    share.first_trajectory_id = request.first_trajectory_id + begin * request.samples_per_prompt;
    shares.push_back(std::async(std::launch::async, [this, i, share] { return workers_[i]->Generate(share); }));
  }
  std::vector<Trajectory> out;
  absl::Status first_error;
  for (auto& f : shares) {
    absl::StatusOr<std::vector<Trajectory>> part = f.get();
    if (!part.ok()) {
      if (first_error.ok()) first_error = part.status();
      continue;
    }
    for (Trajectory& t : *part) out.push_back(std::move(t));
  }
  if (!first_error.ok()) return first_error;
  return out;
}

absl::StatusOr<WeightSyncStats> RolloutPool::SyncWeights(const WeightSync& sync) {
  if (sync.group) return absl::InvalidArgumentError("a rollout pool syncs each worker in its own rank of the plan");
  std::vector<std::future<absl::StatusOr<WeightSyncStats>>> syncs;
  for (auto& w : workers_) {
    syncs.push_back(std::async(std::launch::async, [&w, sync] { return w->SyncWeights(sync); }));
  }
  absl::Status first_error;
  WeightSyncStats slowest;
  for (auto& f : syncs) {
    absl::StatusOr<WeightSyncStats> s = f.get();
    if (!s.ok()) {
      if (first_error.ok()) first_error = s.status();
    } else if (s->seconds >= slowest.seconds) {
      slowest = *s;
    }
  }
  if (!first_error.ok()) return first_error;
  return slowest;
}

absl::StatusOr<WeightsFingerprint> RolloutPool::Fingerprint() {
  if (workers_.empty()) return absl::FailedPreconditionError("a rollout pool with no workers");
  RTO_ASSIGN_OR_RETURN(WeightsFingerprint first, workers_[0]->Fingerprint());
  for (size_t i = 1; i < workers_.size(); ++i) {
    RTO_ASSIGN_OR_RETURN(WeightsFingerprint f, workers_[i]->Fingerprint());
    if (f.hash != first.hash || f.version != first.version) {
      return absl::FailedPreconditionError(absl::StrCat("rollout worker ", i, " holds weights ", f.hash, " (version ",
                                                        f.version, ") but worker 0 ", first.hash, " (version ",
                                                        first.version, ")"));
    }
  }
  return first;
}

}  // namespace rto
