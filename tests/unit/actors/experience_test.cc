// The experience of a step from hand-made answers, against numbers worked by hand.
#include "common/actors/experience.h"

#include <cmath>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using testing::IsOk;
using testing::StatusIs;

Trajectory Make(uint64_t id, std::vector<int64_t> response, std::vector<float> behaviour) {
  Trajectory t;
  t.id = id;
  t.prompt = {1, 2};
  t.response = std::move(response);
  t.logprobs = std::move(behaviour);
  return t;
}

ExperienceOptions Ppo() {
  ExperienceOptions o;
  o.reward.dpo_reward_scale = 0;
  o.kl_coef = 0.1;
  o.gamma = 1.0;
  o.lambda = 1.0;
  o.whiten_advantages = false;
  return o;
}

TEST(ExperienceTest, GaeFromTheKlPenaltyAndTheSentenceReward) {
  // Rewards: -0.1 * (log pi - log pi_ref) = [-0.05, 0], plus the RM score 2 on the last token.
  // With gamma = lambda = 1: returns are rewards to go [1.95, 2], advantages returns - values.
  const std::vector<Trajectory> batch = {Make(0, {5, 6}, {-1.0f, -2.0f})};
  StepAnswers a;
  a.scores.ref_logprobs = {{-1.5f, -2.0f}};
  a.scores.rm_scores = {2.0f};
  a.policy.logprobs = {{-1.0f, -2.0f}};
  a.policy.entropy = {{0.5f, 0.7f}};
  a.values = {{0.5f, 1.0f}};
  auto e = BuildExperience(batch, a, Ppo());
  ASSERT_THAT(e, IsOk());
  EXPECT_THAT(e->returns[0], ElementsAre(FloatNear(1.95f, 1e-6), FloatNear(2.0f, 1e-6)));
  EXPECT_THAT(e->advantages[0], ElementsAre(FloatNear(1.45f, 1e-6), FloatNear(1.0f, 1e-6)));
  EXPECT_NEAR(e->kl_per_sequence, 0.5, 1e-6);
  EXPECT_NEAR(e->metrics["reward/rm_score"], 2.0, 1e-6);
  EXPECT_NEAR(e->metrics["reward/token_total"], 1.95, 1e-6);
  EXPECT_NEAR(e->metrics["kl/ref"], 0.5, 1e-6);
  EXPECT_NEAR(e->metrics["kl/coef"], 0.1, 1e-12);
  EXPECT_NEAR(e->metrics["policy/entropy"], 0.6, 1e-6);
  EXPECT_NEAR(e->metrics["critic/value_mean"], 0.75, 1e-6);
  EXPECT_NEAR(e->metrics["rollout/logprob_max_diff"], 0.0, 1e-12);
}

TEST(ExperienceTest, TheDpoTokenRewardIsScaledAndClipped) {
  // beta1 = 0.5, c = 0.2: 0.5 * [1.0, -0.1] = [0.5, -0.05] -> [0.2, -0.05]; no KL, no RM score.
  const std::vector<Trajectory> batch = {Make(0, {5, 6}, {-1.0f, -1.0f})};
  StepAnswers a;
  a.scores.ref_logprobs = {{-1.0f, -1.0f}};
  a.scores.dpo_logratio = {{1.0f, -0.1f}};
  a.scores.rm_scores = {0.0f};
  a.policy.logprobs = {{-1.0f, -1.0f}};
  a.policy.entropy = {{0.0f, 0.0f}};
  a.values = {{0.0f, 0.0f}};
  ExperienceOptions o = Ppo();
  o.reward.dpo_reward_scale = 0.5;
  o.reward.dpo_reward_clip = 0.2;
  auto e = BuildExperience(batch, a, o);
  ASSERT_THAT(e, IsOk());
  EXPECT_NEAR(e->metrics["reward/dpo_sequence"], 0.15, 1e-6);
  EXPECT_NEAR(e->metrics["reward/dpo_token_mean"], 0.075, 1e-6);
  EXPECT_THAT(e->returns[0], ElementsAre(FloatNear(0.15f, 1e-6), FloatNear(-0.05f, 1e-6)));
}

TEST(ExperienceTest, GrpoNormalisesTheRewardWithinEachPromptsGroup) {
  // Two samples of one prompt scored 1 and 3: (s - 2) / (sqrt(2) + 1e-6), one token each.
  const std::vector<Trajectory> batch = {Make(0, {5}, {-1.0f}), Make(1, {6}, {-1.0f})};
  StepAnswers a;
  a.scores.ref_logprobs = {{-1.0f}, {-1.0f}};
  a.scores.rm_scores = {1.0f, 3.0f};
  a.policy.logprobs = {{-1.0f}, {-1.0f}};
  a.policy.entropy = {{0.0f}, {0.0f}};
  ExperienceOptions o = Ppo();
  o.estimator = AdvantageEstimator::kGrpo;
  o.samples_per_prompt = 2;
  auto e = BuildExperience(batch, a, o);
  ASSERT_THAT(e, IsOk());
  const float expected = static_cast<float>(1.0 / (std::sqrt(2.0) + 1e-6));
  EXPECT_THAT(e->advantages[0], ElementsAre(FloatNear(-expected, 1e-6)));
  EXPECT_THAT(e->advantages[1], ElementsAre(FloatNear(expected, 1e-6)));
  EXPECT_NEAR(e->metrics["reward/sentence"], 2.0, 1e-6);  // before the baseline
  EXPECT_EQ(e->metrics.count("critic/value_mean"), 0u);
}

TEST(ExperienceTest, TheGapBetweenBehaviourAndLearnerLogProbsIsReported) {
  const std::vector<Trajectory> batch = {Make(0, {5, 6}, {-1.0f, -2.25f})};
  StepAnswers a;
  a.scores.ref_logprobs = {{-1.0f, -2.0f}};
  a.scores.rm_scores = {0.0f};
  a.policy.logprobs = {{-1.0f, -2.0f}};
  a.policy.entropy = {{0.0f, 0.0f}};
  a.values = {{0.0f, 0.0f}};
  auto e = BuildExperience(batch, a, Ppo());
  ASSERT_THAT(e, IsOk());
  EXPECT_NEAR(e->metrics["rollout/logprob_max_diff"], 0.25, 1e-6);
}

TEST(ExperienceTest, AnswersOfTheWrongShapeAreErrorsThatNameThem) {
  const std::vector<Trajectory> batch = {Make(0, {5, 6}, {-1.0f, -2.0f})};
  StepAnswers a;
  a.scores.ref_logprobs = {{-1.0f, -2.0f}};
  a.scores.rm_scores = {1.0f};
  a.policy.logprobs = {{-1.0f, -2.0f}};
  a.policy.entropy = {{0.0f, 0.0f}};
  a.values = {{0.0f}};  // one value for two tokens
  EXPECT_THAT(BuildExperience(batch, a, Ppo()).status(), StatusIs(absl::StatusCode::kInvalidArgument, "values"));
  a.values = {{0.0f, 0.0f}};
  a.scores.rm_scores = {};
  EXPECT_THAT(BuildExperience(batch, a, Ppo()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "0 reward scores for 1 trajectories"));
  a.scores.rm_scores = {1.0f};
  std::vector<Trajectory> short_behaviour = {Make(0, {5, 6}, {-1.0f})};
  EXPECT_THAT(BuildExperience(short_behaviour, a, Ppo()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "behaviour log-probs"));
  ExperienceOptions rto = Ppo();
  rto.reward.dpo_reward_scale = 0.1;  // and no DPO log-ratios
  EXPECT_THAT(BuildExperience(batch, a, rto).status(), StatusIs(absl::StatusCode::kInvalidArgument, "DPO"));
  EXPECT_THAT(BuildExperience({}, a, Ppo()).status(), StatusIs(absl::StatusCode::kInvalidArgument, "no trajectories"));
}

}  // namespace
}  // namespace rto
