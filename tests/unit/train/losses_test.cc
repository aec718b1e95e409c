#include "common/train/losses.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::StatusIs;

at::Tensor T(std::vector<double> v) { return at::tensor(v, at::kDouble); }

TEST(LossesTest, SftAveragesOverResponseTokensOnly) {
  at::Tensor logprobs = T({-1, -2, -3, -4, -5, -6}).view({2, 3});
  at::Tensor mask = at::tensor({0, 1, 1, 0, 0, 1}, at::kLong).view({2, 3});
  EXPECT_NEAR(SftLoss(logprobs, mask).item<double>(), (2.0 + 3.0 + 6.0) / 3.0, 1e-12);
  EXPECT_TRUE(at::allclose(SequenceLogProb(logprobs, mask), T({-5, -6})));
}

TEST(LossesTest, BradleyTerry) {
  // -log sigmoid(1) = log(1 + e^-1); -log sigmoid(-2) = log(1 + e^2).
  double expected = (std::log1p(std::exp(-1.0)) + std::log1p(std::exp(2.0))) / 2;
  EXPECT_NEAR(BradleyTerryLoss(T({1.0, 0.0}), T({0.0, 2.0})).item<double>(), expected, 1e-12);
}

TEST(LossesTest, DpoWithPolicyEqualToReferenceIsLog2) {
  at::Tensor c = T({-3.0, -7.5}), r = T({-4.0, -1.0});
  for (double smoothing : {0.0, 0.2}) {
    DpoOutput out = DpoLoss(c, r, c, r, {.beta = 0.3, .label_smoothing = smoothing});
    EXPECT_NEAR(out.loss.item<double>(), std::log(2.0), 1e-12);
    EXPECT_EQ(out.chosen_rewards.abs().sum().item<double>(), 0.0);
  }
}

TEST(LossesTest, DpoSigmoidCdpoAndIpoByHand) {
  // h = (-1 - -2) - (-3 - -2.5) = 1.5; beta 0.5 -> beta h = 0.75.
  at::Tensor pc = T({-1.0}), pr = T({-3.0}), rc = T({-2.0}), rr = T({-2.5});
  double sig = std::log1p(std::exp(-0.75)), flipped = std::log1p(std::exp(0.75));
  EXPECT_NEAR(DpoLoss(pc, pr, rc, rr, {.beta = 0.5}).loss.item<double>(), sig, 1e-12);
  EXPECT_NEAR(DpoLoss(pc, pr, rc, rr, {.beta = 0.5, .label_smoothing = 0.1}).loss.item<double>(),
              0.9 * sig + 0.1 * flipped, 1e-12);
  // IPO: (1.5 - 1 / (2 * 0.5))^2 = 0.25.
  EXPECT_NEAR(DpoLoss(pc, pr, rc, rr, {.loss = DpoOptions::Loss::kIpo, .beta = 0.5}).loss.item<double>(), 0.25, 1e-12);
  DpoOutput out = DpoLoss(pc, pr, rc, rr, {.beta = 0.5});
  EXPECT_NEAR(out.chosen_rewards.item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(out.rejected_rewards.item<double>(), -0.25, 1e-12);
  EXPECT_THAT(ParseDpoLoss("hinge"), StatusIs(absl::StatusCode::kInvalidArgument, "sigmoid, ipo"));
}

// Gradients of each loss through a tiny float64 model against central finite differences.
class LossGradientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelConfig c = testing::TinyConfig(2);
    lm_ = testing::RandomModel(c, 3, at::kDouble);
    c.head = HeadKind::kScore;
    rm_ = testing::RandomModel(c, 4, at::kDouble);
  }
  // Response-token log-probs of a right-padded batch: prompt tokens masked out.
  at::Tensor TokenLogProbs(const Transformer& m, const at::Tensor& ids, const at::Tensor& mask) {
    const int64_t n = ids.size(1);
    at::Tensor hidden = m.Forward(ids, mask);
    return m.TokenLogProbs(hidden.narrow(1, 0, n - 1), ids.narrow(1, 1, n - 1));
  }
  // Checks d loss / d w for a few entries of `name` against (L(w + e) - L(w - e)) / 2e.
  void ExpectGradientMatches(Transformer& m, const std::string& name, const std::function<at::Tensor()>& loss) {
    const at::Tensor& w = *m.FindParameter(name);
    w.set_requires_grad(true);
    loss().backward();
    at::Tensor grad = w.grad().clone();
    w.mutable_grad() = at::Tensor();
    w.set_requires_grad(false);
    c10::NoGradGuard no_grad;
    at::Tensor flat = w.view({-1});
    for (int64_t i : {int64_t{0}, flat.numel() / 3, flat.numel() - 1}) {
      const double e = 1e-6, orig = flat[i].item<double>();
      flat[i].fill_(orig + e);
      double up = loss().item<double>();
      flat[i].fill_(orig - e);
      double down = loss().item<double>();
      flat[i].fill_(orig);
      double numeric = (up - down) / (2 * e), analytic = grad.view({-1})[i].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-4 * std::abs(numeric)) << name << "[" << i << "]";
    }
  }
  std::unique_ptr<Transformer> lm_, rm_;
  at::Tensor ids_ = at::tensor({5, 9, 13, 20, 31, 0, 7, 8, 40, 41, 42, 43}, at::kLong).view({2, 6});
  at::Tensor mask_ = at::tensor({1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1}, at::kLong).view({2, 6});
  at::Tensor response_ = at::tensor({0, 1, 1, 1, 0, 0, 1, 1, 1, 1}, at::kLong).view({2, 5});
};

TEST_F(LossGradientTest, Sft) {
  for (const char* name : {"lm_head.weight", "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"}) {
    ExpectGradientMatches(*lm_, name, [&] { return SftLoss(TokenLogProbs(*lm_, ids_, mask_), response_); });
  }
}

TEST_F(LossGradientTest, BradleyTerry) {
  auto loss = [&] {
    at::Tensor scores = rm_->Scores(rm_->Forward(ids_, mask_));
    at::Tensor last = scores.gather(1, LastTokenIndex(mask_).unsqueeze(1)).squeeze(1);
    return BradleyTerryLoss(last.narrow(0, 0, 1), last.narrow(0, 1, 1));
  };
  for (const char* name : {"score.weight", "model.layers.1.mlp.down_proj.weight", "model.embed_tokens.weight"}) {
    ExpectGradientMatches(*rm_, name, loss);
  }
}

TEST_F(LossGradientTest, Dpo) {
  // Row 0 is "chosen", row 1 "rejected"; the reference is a frozen copy of other weights.
  auto reference = testing::RandomModel(testing::TinyConfig(2), 9, at::kDouble);
  at::Tensor ref_lp;
  {
    c10::NoGradGuard no_grad;
    ref_lp = SequenceLogProb(TokenLogProbs(*reference, ids_, mask_), response_);
  }
  for (auto loss_kind : {DpoOptions::Loss::kSigmoid, DpoOptions::Loss::kIpo}) {
    auto loss = [&] {
      at::Tensor lp = SequenceLogProb(TokenLogProbs(*lm_, ids_, mask_), response_);
      return DpoLoss(
                 lp.narrow(0, 0, 1), lp.narrow(0, 1, 1), ref_lp.narrow(0, 0, 1), ref_lp.narrow(0, 1, 1),
                 {.loss = loss_kind, .beta = 0.2, .label_smoothing = loss_kind == DpoOptions::Loss::kSigmoid ? 0.1 : 0})
          .loss;
    };
    ExpectGradientMatches(*lm_, "model.layers.1.self_attn.v_proj.weight", loss);
  }
}

}  // namespace
}  // namespace rto
