// A learner or critic trained by N data-parallel ranks, seen by the coordinator's loop as one
// role (the single-controller pattern of veRL's worker groups): every train and save call goes
// to every rank at once, each rank with the whole experience (it trains on its share of each
// mini-batch and reports the metrics of all of it); evaluations are split into N contiguous
// shares, one per rank; publishing and the policy's export go to rank 0 alone, whose weights
// equal every other rank's. When one rank's call fails, `abort` (when given) is set until the
// other ranks' calls have returned: their clients cancel on it (a rank waiting in a collective
// for a lost peer would otherwise wait out its deadline). Torch-free. Calls of one object must not
// overlap (the loop's).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/actors/roles.h"

namespace rto {

class DataParallelLearner : public Learner {
 public:
  // REQUIRES: ranks[r] is rank r; at least one; they outlive this.
  explicit DataParallelLearner(std::vector<Learner*> ranks, std::shared_ptr<std::atomic<bool>> abort = nullptr)
      : ranks_(std::move(ranks)), abort_(std::move(abort)) {}
  absl::StatusOr<PolicyEvaluation> LogProbs(const std::vector<Trajectory>& trajectories) override;
  // Rank 0's metrics; an error when the ranks disagree about the version they reached.
  absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) override;
  absl::StatusOr<WeightSyncStats> PublishWeights(const std::optional<WeightGroupOptions>& group) override;
  // Rank 0's, checked against every rank's: the ranks must hold the same weights.
  absl::StatusOr<WeightsFingerprint> Fingerprint() override;
  int64_t version() const override { return ranks_[0]->version(); }
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;
  absl::Status SavePolicy(const std::string& dir) override { return ranks_[0]->SavePolicy(dir); }

 private:
  std::vector<Learner*> ranks_;
  std::shared_ptr<std::atomic<bool>> abort_;
};

class DataParallelCritic : public Critic {
 public:
  // REQUIRES: ranks[r] is rank r; at least one; they outlive this.
  explicit DataParallelCritic(std::vector<Critic*> ranks, std::shared_ptr<std::atomic<bool>> abort = nullptr)
      : ranks_(std::move(ranks)), abort_(std::move(abort)) {}
  absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) override;
  absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) override;
  absl::Status Save(const std::string& dir) override;
  absl::Status Restore(const std::string& dir) override;

 private:
  std::vector<Critic*> ranks_;
  std::shared_ptr<std::atomic<bool>> abort_;
};

}  // namespace rto
