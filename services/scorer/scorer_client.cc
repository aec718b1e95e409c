#include "services/scorer/scorer_client.h"

#include <algorithm>
#include <future>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/rpc/wire.h"
#include "common/util/status_macros.h"

namespace rto {

RemoteScorer::RemoteScorer(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
    : stub_(v1::Scorer::NewStub(channel)), options_(options) {}

absl::StatusOr<ScoreResult> RemoteScorer::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  v1::ScoreRequest request;
  wire::ToProto(trajectories, request.mutable_batch());
  request.set_with_dpo(with_dpo);
  v1::ScoreResponse response;
  RTO_RETURN_IF_ERROR(Call(options_, true, "scorer Score",
                           [&](grpc::ClientContext& c) { return stub_->Score(&c, request, &response); }));
  return wire::FromProto(response);
}

absl::StatusOr<ScoreResult> ScorerPool::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  const size_t parts = std::min(replicas_.size(), trajectories.size());
  if (parts == 0) return absl::InvalidArgumentError("an empty batch of trajectories, or no scorers");
  std::vector<std::future<absl::StatusOr<ScoreResult>>> shares;
  for (size_t i = 0; i < parts; ++i) {
    auto [begin, end] = Share(trajectories.size(), parts, i);
    std::vector<Trajectory> share(trajectories.begin() + begin, trajectories.begin() + end);
    shares.push_back(std::async(std::launch::async, [this, i, share = std::move(share), with_dpo] {
      return replicas_[i]->Score(share, with_dpo);
    }));
  }
  ScoreResult out;
  absl::Status first_error;
  for (auto& f : shares) {
    absl::StatusOr<ScoreResult> part = f.get();
    if (!part.ok()) {
      if (first_error.ok()) first_error = part.status();
      continue;
    }
    for (auto& v : part->ref_logprobs) out.ref_logprobs.push_back(std::move(v));
    for (auto& v : part->dpo_logratio) out.dpo_logratio.push_back(std::move(v));
    out.rm_scores.insert(out.rm_scores.end(), part->rm_scores.begin(), part->rm_scores.end());
  }
  if (!first_error.ok()) return first_error;
  return out;
}

}  // namespace rto
