// Fakes of the four role interfaces, for fast tests of the coordinator's branches: deterministic
// answers of the right shapes, a shared log of every call (so tests can check the order of
// events), failures on demand, and checkpoints as small files. Torch-free. Not thread-safe
// except the log (the coordinator calls roles from several threads when roles run in parallel).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/actors/roles.h"

namespace rto::testing {

// "generate step=3 version=2", "sync 2", "train step=3", ... in call order.
class CallLog {
 public:
  void Add(std::string event);
  std::vector<std::string> events() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

class FakeRollout : public Rollout {
 public:
  explicit FakeRollout(CallLog* log) : log_(log) {}
  // Responses of 2 tokens, the first derived from the prompt id (the fake scorer's reward).
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  absl::StatusOr<WeightSyncStats> SyncWeights(const WeightSync& sync) override;
  absl::StatusOr<WeightsFingerprint> Fingerprint() override { return WeightsFingerprint{version_, 7}; }
  // The next `n` Generate calls answer `code` (UNAVAILABLE: a dead worker).
  void FailNextGenerates(int n, absl::StatusCode code = absl::StatusCode::kUnavailable);
  // Trajectories claim `version` whatever weights the rollout holds (a misbehaving worker).
  void StampVersion(int64_t version) { stamp_ = version; }
  const std::vector<RolloutRequest>& requests() const { return requests_; }
  int64_t version() const { return version_; }

 private:
  CallLog* log_;
  std::vector<RolloutRequest> requests_;
  int64_t version_ = -1;
  std::optional<int64_t> stamp_;
  int failures_ = 0;
  absl::StatusCode failure_code_ = absl::StatusCode::kUnavailable;
};

class FakeScorer : public Scorer {
 public:
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;
};

class FakeCritic : public Critic {
 public:
  explicit FakeCritic(CallLog* log) : log_(log) {}
  absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) override;
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;

 private:
  CallLog* log_;
  int64_t trained_ = 0;
};

class FakeLearner : public Learner {
 public:
  explicit FakeLearner(CallLog* log) : log_(log) {}
  absl::StatusOr<PolicyEvaluation> LogProbs(const std::vector<Trajectory>& trajectories) override;
  // One version per step trained.
  absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) override;
  absl::StatusOr<WeightSyncStats> PublishWeights(const std::optional<WeightGroupOptions>& group) override;
  absl::StatusOr<WeightsFingerprint> Fingerprint() override { return WeightsFingerprint{version_, 7}; }
  int64_t version() const override { return version_; }
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  absl::Status SavePolicy(const std::string& dir) override;

 private:
  CallLog* log_;
  int64_t version_ = 0;
};

}  // namespace rto::testing
