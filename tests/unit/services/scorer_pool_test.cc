// The scorer pool's failover: a replica that fails UNAVAILABLE or DEADLINE_EXCEEDED leaves the
// service, the others score the whole batch at once, and the replacement serves from a later
// call; with every replica lost the pool waits for a replacement; other errors are returned.
#include <chrono>
#include <thread>

#include "services/scorer/scorer_client.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using namespace std::chrono_literals;

// Scores every trajectory with `score`, or fails with `fail`.
class FixedScorer : public Scorer {
 public:
  explicit FixedScorer(float score, absl::Status fail = absl::OkStatus()) : score_(score), fail_(std::move(fail)) {}
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool) override {
    if (!fail_.ok()) return fail_;
    ScoreResult r;
    for (const Trajectory& t : trajectories) {
      r.ref_logprobs.emplace_back(t.response.size(), 0.0f);
      r.rm_scores.push_back(score_);
    }
    return r;
  }

 private:
  float score_;
  absl::Status fail_;
};

std::vector<Trajectory> Batch(int n) {
  std::vector<Trajectory> out;
  for (int i = 0; i < n; ++i) out.push_back({.id = static_cast<uint64_t>(i), .prompt = {1}, .response = {2, 3}});
  return out;
}

std::vector<std::unique_ptr<Scorer>> Replicas(std::unique_ptr<Scorer> a, std::unique_ptr<Scorer> b) {
  std::vector<std::unique_ptr<Scorer>> out;
  out.push_back(std::move(a));
  out.push_back(std::move(b));
  return out;
}

TEST(ScorerPoolTest, ALostReplicasShareGoesToTheOthersAndItsReplacementServesLater) {
  std::vector<size_t> replaced_slots;
  ScorerPool pool(Replicas(std::make_unique<FixedScorer>(1),
                           std::make_unique<FixedScorer>(2, absl::UnavailableError("connection refused"))),
                  [&](size_t slot) -> absl::StatusOr<std::unique_ptr<Scorer>> {
                    replaced_slots.push_back(slot);
                    return std::unique_ptr<Scorer>(std::make_unique<FixedScorer>(3));
                  });
  auto first = pool.Score(Batch(4), false);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->rm_scores, (std::vector<float>{1, 1, 1, 1}));  // the survivor scored it all
  std::this_thread::sleep_for(50ms);                              // the replacement is found meanwhile
  auto second = pool.Score(Batch(4), false);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->rm_scores, (std::vector<float>{1, 1, 3, 3}));  // and serves slot 1 again
  EXPECT_EQ(replaced_slots, (std::vector<size_t>{1}));
  EXPECT_EQ(pool.replaced(), 1);
}

TEST(ScorerPoolTest, WithEveryReplicaLostItWaitsForAReplacement) {
  ScorerPool pool(Replicas(std::make_unique<FixedScorer>(1, absl::DeadlineExceededError("hung")),
                           std::make_unique<FixedScorer>(2, absl::UnavailableError("gone"))),
                  [](size_t slot) -> absl::StatusOr<std::unique_ptr<Scorer>> {
                    std::this_thread::sleep_for(20ms);
                    return std::unique_ptr<Scorer>(std::make_unique<FixedScorer>(10 + slot));
                  });
  auto out = pool.Score(Batch(4), false);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->rm_scores, (std::vector<float>{10, 10, 11, 11}));
}

TEST(ScorerPoolTest, OtherErrorsAndFailedReplacementsAreReturned) {
  ScorerPool bad_input(Replicas(std::make_unique<FixedScorer>(1, absl::InvalidArgumentError("trajectory 3: token id")),
                                std::make_unique<FixedScorer>(2)),
                       [](size_t) -> absl::StatusOr<std::unique_ptr<Scorer>> {
                         ADD_FAILURE() << "a bad request loses no replica";
                         return absl::InternalError("unreachable");
                       });
  EXPECT_THAT(bad_input.Score(Batch(4), false), StatusIs(absl::StatusCode::kInvalidArgument, "token id"));
  ScorerPool no_replacement(Replicas(std::make_unique<FixedScorer>(1, absl::UnavailableError("gone")),
                                     std::make_unique<FixedScorer>(2, absl::UnavailableError("gone"))),
                            [](size_t) -> absl::StatusOr<std::unique_ptr<Scorer>> {
                              return absl::DeadlineExceededError("no new scorer registered");
                            });
  EXPECT_THAT(no_replacement.Score(Batch(4), false),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "no new scorer registered"));
}

}  // namespace
}  // namespace rto
