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

namespace {

bool Lost(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

ScorerPool::~ScorerPool() {
  for (auto& [slot, replacement] : replacing_) {
    if (replacement.valid()) replacement.wait();
  }
}

absl::StatusOr<ScoreResult> ScorerPool::ScoreInService(const std::vector<Trajectory>& trajectories, bool with_dpo,
                                                       std::vector<size_t>* lost) {
  std::vector<size_t> serving;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    if (replicas_[i] != nullptr) serving.push_back(i);
  }
  const size_t parts = std::min(serving.size(), trajectories.size());
  std::vector<std::future<absl::StatusOr<ScoreResult>>> shares;
  for (size_t p = 0; p < parts; ++p) {
    auto [begin, end] = Share(trajectories.size(), parts, p);
    std::vector<Trajectory> share(trajectories.begin() + begin, trajectories.begin() + end);
    shares.push_back(std::async(std::launch::async, [this, slot = serving[p], share = std::move(share), with_dpo] {
      return replicas_[slot]->Score(share, with_dpo);
    }));
  }
  ScoreResult out;
  absl::Status first_error;
  for (size_t p = 0; p < parts; ++p) {
    absl::StatusOr<ScoreResult> part = shares[p].get();
    if (!part.ok()) {
      if (Lost(part.status()) && replace_) lost->push_back(serving[p]);
      if (first_error.ok()) first_error = part.status();
      continue;
    }
    for (auto& v : part->ref_logprobs) out.ref_logprobs.push_back(std::move(v));
    for (auto& v : part->dpo_logratio) out.dpo_logratio.push_back(std::move(v));
    out.rm_scores.insert(out.rm_scores.end(), part->rm_scores.begin(), part->rm_scores.end());
  }
  for (size_t slot : *lost) {
    std::cerr << "scorer pool: replica " << slot << " is lost (" << first_error.message()
              << "); the others take its work while a replacement starts\n";
    replicas_[slot] = nullptr;
    replacing_[slot] = std::async(std::launch::async, [this, slot] { return replace_(slot); });
  }
  if (!first_error.ok()) return first_error;
  return out;
}

absl::Status ScorerPool::AdoptReplacements(bool wait) {
  for (auto it = replacing_.begin(); it != replacing_.end();) {
    if (!wait && it->second.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++it;
      continue;
    }
    absl::StatusOr<std::unique_ptr<Scorer>> replacement = it->second.get();
    const size_t slot = it->first;
    it = replacing_.erase(it);
    if (!replacement.ok()) return replacement.status();
    replicas_[slot] = std::move(*replacement);
    ++replaced_;
  }
  return absl::OkStatus();
}

absl::StatusOr<ScoreResult> ScorerPool::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  if (trajectories.empty() || replicas_.empty()) {
    return absl::InvalidArgumentError("an empty batch of trajectories, or no scorers");
  }
  RTO_RETURN_IF_ERROR(AdoptReplacements(/*wait=*/false));
  // Each round loses at least one replica or succeeds; scoring is pure, so a retry is the same.
  for (size_t round = 0;; ++round) {
    if (replicas_.size() == replacing_.size()) RTO_RETURN_IF_ERROR(AdoptReplacements(/*wait=*/true));
    std::vector<size_t> lost;
    absl::StatusOr<ScoreResult> out = ScoreInService(trajectories, with_dpo, &lost);
    if (out.ok() || lost.empty() || round > 2 * replicas_.size()) return out;
  }
}

}  // namespace rto
