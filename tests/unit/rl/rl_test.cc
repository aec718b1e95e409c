// The RL math against numbers worked by hand, with padding that must not leak in.
#include <ATen/ATen.h>

#include <cmath>

#include "common/rl/advantages.h"
#include "common/rl/ppo_losses.h"
#include "common/rl/rewards.h"
#include "tests/testing/test_util.h"

namespace rto::rl {
namespace {

using testing::StatusIs;

at::Tensor T(std::vector<float> v, std::vector<int64_t> shape) { return at::tensor(v, at::kFloat).view(shape); }

void ExpectNear(const at::Tensor& got, const at::Tensor& want, double tol = 1e-5) {
  ASSERT_TRUE(got.sizes().equals(want.sizes())) << got.sizes() << " vs " << want.sizes();
  EXPECT_TRUE(at::allclose(got, want, 0, tol)) << "got\n" << got << "\nwant\n" << want;
}

TEST(RewardsTest, ComposesDpoRewardKlPenaltyAndClippedNormalisedScoreOnTheLastToken) {
  const at::Tensor mask = T({1, 1, 1, 1, 1, 0}, {2, 3});
  const at::Tensor policy = T({-1, -2, -3, -0.5, -1, 42}, {2, 3});  // 42: padding, must not matter
  const at::Tensor ref = T({-1.5, -2, -2, -1, -1, -9}, {2, 3});
  const at::Tensor dpo = T({2, -0.4, 0.1, -3, 0.5, 7}, {2, 3});
  TokenRewardOptions o{.dpo_reward_scale = 0.1,
                       .dpo_reward_clip = 0.05,
                       .reward_clip = 10,
                       .normalize_reward = true,
                       .reward_mean = 1,
                       .reward_std = 2};
  const at::Tensor sentence = SentenceReward(T({3, -20}, {2}), o);
  ExpectNear(sentence, T({1, -10}, {2}));  // (3-1)/2 = 1; (-20-1)/2 = -10.5 clipped to -10
  TokenRewards r = ComposeTokenRewards(policy, ref, dpo, sentence, mask, 0.5, o);
  ExpectNear(r.dpo_rewards, T({0.05, -0.04, 0.01, -0.05, 0.05, 0}, {2, 3}));
  ExpectNear(r.kl, T({0.5, 0, -1, 0.5, 0, 0}, {2, 3}));
  ExpectNear(r.rewards, T({0.05 - 0.25, -0.04, 0.01 + 0.5 + 1, -0.05 - 0.25, 0.05 - 10, 0}, {2, 3}));

  o.dpo_reward_scale = 0;  // plain PPO: the DPO model does not enter at all
  r = ComposeTokenRewards(policy, ref, at::full({2, 3}, NAN), sentence, mask, 0.5, o);
  EXPECT_EQ(r.dpo_rewards.abs().sum().item<float>(), 0);
  ExpectNear(r.rewards, T({-0.25, 0, 0.5 + 1, -0.25, -10, 0}, {2, 3}));
}

TEST(RewardsTest, AdaptiveKlFollowsZieglerAndFixedStaysPut) {
  KlController adaptive = KlController::Adaptive(0.1, 6, 10000);
  adaptive.Update(9, 100);  // error clip(9/6 - 1) = 0.2
  EXPECT_NEAR(adaptive.coef(), 0.1 * (1 + 0.2 * 100 / 10000.0), 1e-12);
  adaptive.Update(6, 100);
  EXPECT_NEAR(adaptive.coef(), 0.1 * (1 + 0.2 * 100 / 10000.0), 1e-12);
  adaptive.Update(3, 100);  // error -0.5 clipped to -0.2
  EXPECT_NEAR(adaptive.coef(), 0.1 * 1.002 * 0.998, 1e-12);
  KlController fixed = KlController::Fixed(0.01);
  fixed.Update(100, 100);
  EXPECT_EQ(fixed.coef(), 0.01);
}

TEST(RewardsTest, GroupBaselines) {
  const at::Tensor s = T({1, 3, 2, 2}, {4});
  ExpectNear(*ApplyBaseline(s, 2, Baseline::kGroupNorm), T({-1 / std::sqrt(2.f), 1 / std::sqrt(2.f), 0, 0}, {4}));
  ExpectNear(*ApplyBaseline(s, 2, Baseline::kLeaveOneOut), T({-2, 2, 0, 0}, {4}));
  ExpectNear(*ApplyBaseline(s, 2, Baseline::kNone), s);
  EXPECT_THAT(ApplyBaseline(s, 1, Baseline::kGroupNorm).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "at least 2 samples"));
  EXPECT_THAT(ApplyBaseline(s, 3, Baseline::kLeaveOneOut).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "at least 2 samples"));
}

TEST(AdvantagesTest, GaeByHandWithPaddingIgnored) {
  // Row 0: three real tokens. Row 1: two, then padding holding garbage.
  const at::Tensor rewards = T({1, 0, 2, 1, 0, 5}, {2, 3});
  const at::Tensor values = T({0.5, 1, -1, 0.5, 1, 7}, {2, 3});
  const at::Tensor mask = T({1, 1, 1, 1, 1, 0}, {2, 3});
  AdvantagesAndReturns g = Gae(rewards, values, mask, 0.9, 0.5);
  // Row 0: delta2 = 2 + 1 = 3; delta1 = 0.9 * -1 - 1 = -1.9; delta0 = 1 + 0.9 - 0.5 = 1.4.
  //   A2 = 3, A1 = -1.9 + 0.45 * 3 = -0.55, A0 = 1.4 + 0.45 * -0.55 = 1.1525.
  // Row 1: delta1 = 0 + 0 - 1 = -1 (nothing after the last token); A0 = 1.4 - 0.45 = 0.95.
  ExpectNear(g.advantages, T({1.1525, -0.55, 3, 0.95, -1, 0}, {2, 3}));
  ExpectNear(g.returns, T({1.6525, 0.45, 2, 1.45, 0, 0}, {2, 3}));
  // lambda 1, gamma 1: advantages are the Monte-Carlo return minus the value.
  g = Gae(rewards, values, mask, 1.0, 1.0);
  ExpectNear(g.returns, T({3, 2, 2, 1, 0, 0}, {2, 3}));
}

TEST(AdvantagesTest, DiscountedReturnsAndWhitening) {
  const at::Tensor mask = T({1, 1, 1, 1, 1, 0}, {2, 3});
  ExpectNear(DiscountedReturns(T({1, 0, 2, 1, 3, 9}, {2, 3}), mask, 0.9), T({2.62, 1.8, 2, 3.7, 3, 0}, {2, 3}));
  // Real entries 1..5: mean 3, unbiased variance 2.5.
  const at::Tensor x = T({1, 2, 3, 4, 5, 100}, {2, 3});
  const float sd = std::sqrt(2.5f);
  ExpectNear(Whiten(x, mask), T({-2 / sd, -1 / sd, 0, 1 / sd, 2 / sd, 0}, {2, 3}));
  ExpectNear(Whiten(x, mask, /*shift_mean=*/false), T({3 - 2 / sd, 3 - 1 / sd, 3, 3 + 1 / sd, 3 + 2 / sd, 0}, {2, 3}));
  EXPECT_NEAR(ExplainedVariance(x, x, mask), 1.0, 1e-6);
  EXPECT_NEAR(ExplainedVariance(at::zeros_like(x), x, mask), 0.0, 1e-6);
}

TEST(PpoLossTest, ClippedSurrogateByHandIncludingGradients) {
  // ratios 1.5, 0.5, 1, 0.5 (and padding); advantages 1, 1, -2, -1.
  at::Tensor logprobs = at::log(T({1.5, 0.5, 1, 0.5, 30}, {1, 5})).requires_grad_();
  const at::Tensor old = at::zeros({1, 5});
  const at::Tensor adv = T({1, 1, -2, -1, 100}, {1, 5});
  const at::Tensor mask = T({1, 1, 1, 1, 0}, {1, 5});
  PolicyLossResult r = PolicyLoss(logprobs, old, adv, mask, 0.2);
  // -min(rA, clip(r)A): 1.5*1 -> clipped 1.2; 0.5*1 -> 0.5 (unclipped is smaller);
  // 1*-2 -> -2; 0.5*-1 = -0.5 vs clipped 0.8*-1 = -0.8 -> clipped.
  EXPECT_NEAR(r.loss_sum.item<double>(), -1.2 - 0.5 + 2 + 0.8, 1e-5);
  EXPECT_EQ(r.clipped, 2);
  const double k3 = (0.5 - std::log(1.5)) + 2 * (-0.5 + std::log(2.0));
  EXPECT_NEAR(r.approx_kl, k3, 1e-5);
  EXPECT_NEAR(r.ratio_max_dev, 0.5, 1e-6);
  r.loss_sum.backward();
  // Clipped tokens pass no gradient; others get -A * ratio.
  ExpectNear(logprobs.grad(), T({0, -0.5, 2, 0, 0}, {1, 5}));
}

TEST(PpoLossTest, RatioOneGivesTheVanillaPolicyGradient) {
  at::Tensor logprobs = T({-1, -2, -3}, {1, 3}).requires_grad_();
  const at::Tensor adv = T({0.5, -1, 2}, {1, 3});
  PolicyLossResult r = PolicyLoss(logprobs, logprobs.detach(), adv, at::ones({1, 3}), 0.2);
  EXPECT_NEAR(r.loss_sum.item<double>(), -1.5, 1e-6);
  EXPECT_EQ(r.clipped, 0);
  EXPECT_EQ(r.approx_kl, 0);
  r.loss_sum.backward();
  ExpectNear(logprobs.grad(), -adv);
}

TEST(PpoLossTest, ClippedValueLossByHand) {
  const at::Tensor values = T({1, 0, 2, 50}, {1, 4});
  const at::Tensor old = T({0.5, 0.5, 2, 0}, {1, 4});
  const at::Tensor returns = T({2, 0, 1, 0}, {1, 4});
  const at::Tensor mask = T({1, 1, 1, 0}, {1, 4});
  // Clipped values 0.7, 0.3, 2: squared errors max(1, 1.69), max(0, 0.09), max(1, 1).
  ValueLossResult v = ValueLoss(values, old, returns, mask, 0.2);
  EXPECT_NEAR(v.loss_sum.item<double>(), 0.5 * (1.69 + 0.09 + 1), 1e-5);
  EXPECT_EQ(v.clipped, 2);
  v = ValueLoss(values, old, returns, mask, 0);
  EXPECT_NEAR(v.loss_sum.item<double>(), 0.5 * (1 + 0 + 1), 1e-5);
  EXPECT_EQ(v.clipped, 0);
}

}  // namespace
}  // namespace rto::rl
