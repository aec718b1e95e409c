#include "services/coordinator/data_parallel_roles.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "common/rpc/call.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

// call(r) for r in [0, n) at once; the results in rank order, or the first rank's error, naming it.
// Once a call has failed, `abort` is set (when given) until every call has returned.
template <typename T, typename Call>
absl::StatusOr<std::vector<T>> OnRanks(size_t n, const char* what, Call call,
                                       const std::shared_ptr<std::atomic<bool>>& abort = nullptr) {
  if (abort) *abort = false;
  std::vector<std::shared_future<absl::StatusOr<T>>> calls;
  for (size_t r = 0; r < n; ++r) {
    calls.push_back(std::async(std::launch::async, [&call, r] { return call(r); }).share());
  }
  // Every call ends before this returns; the first failure sets `abort` for the others.
  std::vector<bool> done(n, false);
  for (size_t finished = 0; finished < n;) {
    for (size_t r = 0; r < n; ++r) {
      if (done[r] || calls[r].wait_for(std::chrono::milliseconds(10)) != std::future_status::ready) continue;
      done[r] = true;
      ++finished;
      if (abort && !calls[r].get().ok()) *abort = true;
    }
  }
  std::vector<T> out;
  absl::Status first_error;
  for (size_t r = 0; r < n; ++r) {
    const absl::StatusOr<T>& result = calls[r].get();
    if (result.ok()) {
      out.push_back(*result);
    } else if (first_error.ok()) {
      first_error = absl::Status(result.status().code(),
                                 absl::StrCat(what, " on data-parallel rank ", r, ": ", result.status().message()));
    }
  }
  if (!first_error.ok()) return first_error;
  return out;
}

template <typename Call>
absl::Status OnRanks(size_t n, const char* what, Call call, const std::shared_ptr<std::atomic<bool>>& abort) {
  return OnRanks<bool>(
             n, what,
             [&](size_t r) -> absl::StatusOr<bool> {
               RTO_RETURN_IF_ERROR(call(r));
               return true;
             },
             abort)
      .status();
}

// `trajectories` in min(n, size) contiguous shares, evaluated by `evaluate(rank, share)` at once,
// and the results concatenated with `append(out, part)`.
template <typename T, typename Evaluate, typename Append>
absl::StatusOr<T> Split(size_t n, const std::vector<Trajectory>& trajectories, const char* what, Evaluate evaluate,
                        Append append) {
  const size_t parts = std::max<size_t>(1, std::min(n, trajectories.size()));
  RTO_ASSIGN_OR_RETURN(std::vector<T> results, OnRanks<T>(parts, what, [&](size_t r) {
                         auto [begin, end] = Share(trajectories.size(), parts, r);
                         return evaluate(
                             r, std::vector<Trajectory>(trajectories.begin() + begin, trajectories.begin() + end));
                       }));
  T out;
  for (T& part : results) append(out, part);
  return out;
}

void Append(TokenValues& out, TokenValues& part) {
  for (auto& v : part) out.push_back(std::move(v));
}

}  // namespace

absl::StatusOr<PolicyEvaluation> DataParallelLearner::LogProbs(const std::vector<Trajectory>& trajectories) {
  return Split<PolicyEvaluation>(
      ranks_.size(), trajectories, "LogProbs",
      [&](size_t r, const std::vector<Trajectory>& share) { return ranks_[r]->LogProbs(share); },
      [](PolicyEvaluation& out, PolicyEvaluation& part) {
        Append(out.logprobs, part.logprobs);
        Append(out.entropy, part.entropy);
      });
}

absl::StatusOr<Metrics> DataParallelLearner::Train(const PolicyExperience& experience, int64_t step) {
  RTO_ASSIGN_OR_RETURN(
      std::vector<Metrics> metrics,
      OnRanks<Metrics>(
          ranks_.size(), "Train", [&](size_t r) { return ranks_[r]->Train(experience, step); }, abort_));
  for (size_t r = 1; r < ranks_.size(); ++r) {
    if (ranks_[r]->version() != ranks_[0]->version()) {
      return absl::InternalError(absl::StrCat("learner rank ", r, " reached version ", ranks_[r]->version(),
                                              " but rank 0 version ", ranks_[0]->version()));
    }
  }
  return metrics[0];
}

absl::StatusOr<WeightSyncStats> DataParallelLearner::PublishWeights(const std::optional<WeightGroupOptions>& group) {
  return ranks_[0]->PublishWeights(group);
}

absl::StatusOr<WeightsFingerprint> DataParallelLearner::Fingerprint() {
  RTO_ASSIGN_OR_RETURN(
      std::vector<WeightsFingerprint> prints,
      OnRanks<WeightsFingerprint>(ranks_.size(), "WeightsHash", [&](size_t r) { return ranks_[r]->Fingerprint(); }));
  for (size_t r = 1; r < prints.size(); ++r) {
    if (prints[r].hash != prints[0].hash || prints[r].version != prints[0].version) {
      return absl::InternalError(absl::StrCat("learner rank ", r, " holds weights ", prints[r].hash, " (version ",
                                              prints[r].version, ") but rank 0 ", prints[0].hash, " (version ",
                                              prints[0].version, ")"));
    }
  }
  return prints[0];
}

absl::Status DataParallelLearner::Save(const std::string& dir) {
  return OnRanks(
      ranks_.size(), "Save", [&](size_t r) { return ranks_[r]->Save(dir); }, abort_);
}

absl::Status DataParallelLearner::Restore(const std::string& dir) {
  return OnRanks(
      ranks_.size(), "Restore", [&](size_t r) { return ranks_[r]->Restore(dir); }, abort_);
}

absl::StatusOr<TokenValues> DataParallelCritic::Values(const std::vector<Trajectory>& trajectories) {
  return Split<TokenValues>(
      ranks_.size(), trajectories, "Values",
      [&](size_t r, const std::vector<Trajectory>& share) { return ranks_[r]->Values(share); }, Append);
}

absl::StatusOr<Metrics> DataParallelCritic::Train(const ValueExperience& experience, int64_t step) {
  RTO_ASSIGN_OR_RETURN(
      std::vector<Metrics> metrics,
      OnRanks<Metrics>(
          ranks_.size(), "Train", [&](size_t r) { return ranks_[r]->Train(experience, step); }, abort_));
  return metrics[0];
}

absl::Status DataParallelCritic::Save(const std::string& dir) {
  return OnRanks(
      ranks_.size(), "Save", [&](size_t r) { return ranks_[r]->Save(dir); }, abort_);
}

absl::Status DataParallelCritic::Restore(const std::string& dir) {
  return OnRanks(
      ranks_.size(), "Restore", [&](size_t r) { return ranks_[r]->Restore(dir); }, abort_);
}

}  // namespace rto
