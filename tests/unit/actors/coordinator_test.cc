// The coordinator's branches on fake roles (no model, milliseconds per run): weight syncs before
// generation, a lost rollout recovered with the same keyed request, one batch generated ahead
// and where it is not, a stop between steps, checkpoints and resume.
#include "common/actors/coordinator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/util/json_file.h"
#include "tests/testing/fake_roles.h"
#include "tests/testing/test_util.h"

namespace rto {
namespace {

using ::testing::Contains;
using testing::IsOk;
using testing::StatusIs;

CoordinatorOptions Options(int64_t steps) {
  CoordinatorOptions o;
  o.steps = steps;
  o.prompts_per_step = 2;
  o.samples_per_prompt = 2;
  o.checkpoint_every = 100;
  o.keep_checkpoints = 10;
  o.reward.dpo_reward_scale = 0;
  return o;
}

std::vector<PromptItem> Prompts(int n) {
  std::vector<PromptItem> out;
  for (int i = 0; i < n; ++i) out.push_back({{1, 2, 3 + i}, "\"p\""});
  return out;
}

// Fake roles, the coordinator over them, and the run directory.
class CoordinatorTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<Coordinator>> Make(const CoordinatorOptions& o, bool resume = false,
                                                    const std::string& run = "run") {
    rollout_ = std::make_unique<testing::FakeRollout>(&log_);
    learner_ = std::make_unique<testing::FakeLearner>(&log_);
    critic_ = std::make_unique<testing::FakeCritic>(&log_);
    return Coordinator::Create(o, {rollout_.get(), &scorer_, critic_.get(), learner_.get()}, Prompts(8), {}, nullptr,
                               dir_.Join(run), "steps: 1\n", resume);
  }
  std::vector<std::string> Events() const { return log_.events(); }
  std::vector<double> Column(const std::string& key) const {
    std::vector<double> out;
    std::ifstream in(dir_.Join("run/metrics.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)[key].get<double>());
    return out;
  }

  testing::TempDir dir_;
  testing::CallLog log_;
  std::unique_ptr<testing::FakeRollout> rollout_;
  testing::FakeScorer scorer_;
  std::unique_ptr<testing::FakeCritic> critic_;
  std::unique_ptr<testing::FakeLearner> learner_;
};

TEST_F(CoordinatorTest, EachStepGeneratesWithTheWeightsTheLearnerPublishedLast) {
  auto c = Make(Options(3));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->Run(), IsOk());
  // Publishing and receiving are the two ends of one broadcast, at the same time: their order
  // varies, so the publishes are checked apart.
  std::vector<std::string> without_publish, publishes;
  for (const std::string& e : Events()) (e.rfind("publish", 0) == 0 ? publishes : without_publish).push_back(e);
  const std::vector<std::string> expected = {
      "sync 0", "generate step=0 version=0", "train step=0", "critic train step=0",
      "sync 1", "generate step=1 version=1", "train step=1", "critic train step=1",
      "sync 2", "generate step=2 version=2", "train step=2", "critic train step=2",
      "sync 3"};
  EXPECT_EQ(without_publish, expected);
  EXPECT_EQ(publishes, (std::vector<std::string>{"publish 0", "publish 1", "publish 2", "publish 3"}));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("run/final/version")));
  EXPECT_EQ(Column("rollout/staleness"), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(Column("samples"), (std::vector<double>{4, 8, 12}));
}

TEST_F(CoordinatorTest, ALostRolloutIsRecoveredAndTheSameKeyedRequestRetried) {
  auto c = Make(Options(3));
  ASSERT_THAT(c, IsOk());
  int recoveries = 0;
  (*c)->set_rollout_recovery([&] {
    ++recoveries;
    return absl::OkStatus();
  });
  ASSERT_THAT((*c)->Step(), IsOk());
  rollout_->FailNextGenerates(1);
  auto m = (*c)->Step();
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(recoveries, 1);
  EXPECT_EQ((*m)["rollout/recoveries"], 1);
  // The failed request and its retry: same step, prompts and trajectory ids.
  const std::vector<RolloutRequest>& r = rollout_->requests();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].step, r[2].step);
  EXPECT_EQ(r[1].first_trajectory_id, r[2].first_trajectory_id);
  ASSERT_EQ(r[1].prompts.size(), r[2].prompts.size());
  for (size_t i = 0; i < r[1].prompts.size(); ++i) EXPECT_EQ(r[1].prompts[i].prompt_id, r[2].prompts[i].prompt_id);
  // The new workers get the weights before the retry.
  EXPECT_THAT(Events(), Contains("sync 1").Times(2));
}

TEST_F(CoordinatorTest, WithoutRecoveryOrForOtherErrorsAFailedRolloutEndsTheRun) {
  auto c = Make(Options(3));
  ASSERT_THAT(c, IsOk());
  rollout_->FailNextGenerates(1);
  EXPECT_THAT((*c)->Step().status(), StatusIs(absl::StatusCode::kUnavailable, "gone"));
  auto d = Make(Options(3), /*resume=*/false, "run2");
  ASSERT_THAT(d, IsOk());
  (*d)->set_rollout_recovery([] { return absl::OkStatus(); });
  rollout_->FailNextGenerates(1, absl::StatusCode::kInvalidArgument);
  EXPECT_THAT((*d)->Step().status(), StatusIs(absl::StatusCode::kInvalidArgument, "gone"));
}

TEST_F(CoordinatorTest, OneBatchAheadIsOneVersionOldExceptRightAfterACheckpoint) {
  CoordinatorOptions o = Options(6);
  o.max_staleness = 1;
  o.checkpoint_every = 3;
  auto c = Make(o);
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->Run(), IsOk());
  EXPECT_EQ(Column("rollout/staleness"), (std::vector<double>{0, 1, 1, 0, 1, 1}));
  // Step 1's batch was generated ahead, by the weights step 0 trained (version 0), not by the
  // version that training made.
  const std::vector<std::string> e = Events();
  EXPECT_THAT(e, Contains("generate step=1 version=0"));
  // Never across the checkpoint after step 3: step 3's batch is generated with version 3.
  EXPECT_THAT(e, Contains("generate step=3 version=3"));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("run/checkpoints/step-3/coordinator.json")));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("run/checkpoints/step-6/coordinator.json")));
}

TEST_F(CoordinatorTest, AStopBetweenStepsCheckpointsGivesBackTheBatchAheadAndResumesThere) {
  CoordinatorOptions o = Options(6);
  o.max_staleness = 1;
  auto c = Make(o);
  ASSERT_THAT(c, IsOk());
  (*c)->set_between_steps([&] { return (*c)->step() == 2; });
  ASSERT_THAT((*c)->Run(), IsOk());
  EXPECT_TRUE((*c)->stopped());
  auto state = ReadJsonObject(dir_.Join("run/checkpoints/step-2/coordinator.json"));
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ((*state)["step"], 2);
  // Two steps of 2 prompts were used; the batch generated ahead for step 2 gave its prompts back.
  EXPECT_EQ((*state)["data_position"], 4);
  const std::vector<RolloutRequest> before = rollout_->requests();
  ASSERT_EQ(before.size(), 3u);  // steps 0, 1 and the dropped batch ahead for step 2

  auto resumed = Make(o, /*resume=*/true);
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ((*resumed)->step(), 2);
  EXPECT_EQ(learner_->version(), 2);
  ASSERT_THAT((*resumed)->Step(), IsOk());
  // The resumed step 2 asks for the prompts the dropped batch had.
  ASSERT_FALSE(rollout_->requests().empty());
  const RolloutRequest& again = rollout_->requests()[0];
  EXPECT_EQ(again.step, 2);
  ASSERT_EQ(again.prompts.size(), before[2].prompts.size());
  for (size_t i = 0; i < again.prompts.size(); ++i)
    EXPECT_EQ(again.prompts[i].prompt_id, before[2].prompts[i].prompt_id);
}

TEST_F(CoordinatorTest, CheckpointsEveryNStepsAndAtTheEnd) {
  CoordinatorOptions o = Options(5);
  o.checkpoint_every = 2;
  auto c = Make(o);
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->Run(), IsOk());
  for (int step : {2, 4, 5}) {
    EXPECT_TRUE(std::filesystem::exists(dir_.Join(absl::StrCat("run/checkpoints/step-", step, "/policy/version"))))
        << step;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("run/checkpoints/step-3")));
  EXPECT_EQ(Column("policy/version"), (std::vector<double>{1, 2, 3, 4, 5}));
}

TEST_F(CoordinatorTest, ATrajectoryStalerThanAllowedIsAnError) {
  auto c = Make(Options(3));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->Step(), IsOk());
  rollout_->StampVersion(-5);  // a worker answering with old weights
  EXPECT_THAT((*c)->Step().status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              "generated by policy version -5 but the learner is at 1"));
}

TEST_F(CoordinatorTest, TheRolloutIsSyncedWheneverTheLearnerMovedOn) {
  auto c = Make(Options(3));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->Step(), IsOk());
  ASSERT_THAT(learner_->Train({}, 9), IsOk());  // version 2, not through the coordinator
  ASSERT_THAT((*c)->Step(), IsOk());
  EXPECT_THAT(Events(), Contains("sync 2"));
  EXPECT_EQ(rollout_->requests().back().step, 1);
}

}  // namespace
}  // namespace rto
