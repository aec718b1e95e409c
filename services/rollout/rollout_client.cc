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
  for (const RolloutRequest::Prompt& p : r.prompts) {
    v1::Prompt* out = request.add_prompts();
    out->set_prompt_id(p.prompt_id);
    wire::PackI64(p.tokens, out->mutable_tokens());
  }
  request.set_samples_per_prompt(r.samples_per_prompt);
  wire::ToProto(r.sampling, request.mutable_sampling());
  request.set_step(r.step);
  request.set_first_trajectory_id(r.first_trajectory_id);
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

absl::Status RemoteRollout::SyncWeights(int64_t version) {
  v1::SyncWeightsRequest request;
  request.set_version(version);
  wire::ToProto(plan_->For(rank_), request.mutable_group());
  v1::SyncWeightsResponse response;
  return Call(options_, false, absl::StrCat("rollout rank ", rank_, " SyncWeights"),
              [&](grpc::ClientContext& c) { return stub_->SyncWeights(&c, request, &response); });
}

absl::StatusOr<v1::WeightsHashResponse> RemoteRollout::WeightsHash() {
  v1::WeightsHashResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "rollout WeightsHash", [&](grpc::ClientContext& c) {
    return stub_->WeightsHash(&c, v1::WeightsHashRequest(), &response);
  }));
  return response;
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

absl::Status RolloutPool::SyncWeights(int64_t version) {
  std::vector<std::future<absl::Status>> syncs;
  for (auto& w : workers_) {
    syncs.push_back(std::async(std::launch::async, [&w, version] { return w->SyncWeights(version); }));
  }
  absl::Status first_error;
  for (auto& f : syncs) {
    absl::Status s = f.get();
    if (first_error.ok()) first_error = s;
  }
  return first_error;
}

}  // namespace rto
