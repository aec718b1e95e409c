#include "common/train/optimizer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;

at::Tensor Param(std::vector<float> values) { return at::tensor(values, at::kFloat).set_requires_grad(true); }
void SetGrad(at::Tensor& p, std::vector<float> g) { p.mutable_grad() = at::tensor(g, at::kFloat); }

TEST(AdamWTest, MatchesHandComputedSteps) {
  // p = 1, g = 0.5, lr 0.1, wd 0.01. Step 1: p = 1 * (1 - 0.001) - (0.1 / 0.1) * 0.05 / 0.5 = 0.899.
  // Step 2 (same g): m = 0.095, v = 0.00049975, m_hat / sqrt(v_hat) = 1 again, so the update is
  // lr * 1: p = 0.899 * 0.999 - 0.1 = 0.798101.
  at::Tensor p = Param({1.0f});
  AdamW opt({p}, {true}, {.weight_decay = 0.01});
  SetGrad(p, {0.5f});
  opt.Step(0.1);
  EXPECT_NEAR(p.item<double>(), 0.899, 1e-6);
  SetGrad(p, {0.5f});
  opt.Step(0.1);
  EXPECT_NEAR(p.item<double>(), 0.798101, 1e-6);
  EXPECT_EQ(opt.steps(), 2);
}

TEST(AdamWTest, FirstStepMovesEachCoordinateByLrWhateverTheGradientScale) {
  at::Tensor p = Param({0.0f, 0.0f, 0.0f});
  AdamW opt({p}, {false}, {.weight_decay = 0.5});  // no decay for this parameter
  SetGrad(p, {1e-3f, -20.0f, 0.0f});
  opt.Step(0.01);
  EXPECT_NEAR(p[0].item<double>(), -0.01, 1e-6);
  EXPECT_NEAR(p[1].item<double>(), 0.01, 1e-6);
  EXPECT_EQ(p[2].item<double>(), 0.0);
}

TEST(AdamWTest, ParametersWithoutGradientsStayAndStateRoundTrips) {
  at::Tensor a = Param({1.0f, 2.0f}), b = Param({3.0f});
  AdamW opt({a, b}, {true, true}, {});
  SetGrad(a, {0.1f, 0.2f});
  opt.Step(0.1);
  EXPECT_EQ(b.item<float>(), 3.0f);

  // A copy restored from State continues exactly like the original.
  at::Tensor a2 = a.detach().clone().set_requires_grad(true), b2 = b.detach().clone().set_requires_grad(true);
  AdamW restored({a2, b2}, {true, true}, {});
  ASSERT_THAT(restored.LoadState(opt.steps(), opt.State()), IsOk());
  SetGrad(a, {0.3f, -0.1f});
  SetGrad(a2, {0.3f, -0.1f});
  opt.Step(0.05);
  restored.Step(0.05);
  EXPECT_TRUE(at::equal(a, a2));
  EXPECT_THAT(restored.LoadState(1, {}), StatusIs(absl::StatusCode::kInvalidArgument, "has 0 tensors"));
  auto state = opt.State();
  state[0].second = at::zeros({5});
  EXPECT_THAT(restored.LoadState(1, state), StatusIs(absl::StatusCode::kInvalidArgument, "does not fit parameter 0"));
}

TEST(AdamWTest, ZeroGradClearsGradients) {
  at::Tensor p = Param({1.0f});
  AdamW opt({p}, {true}, {});
  SetGrad(p, {1.0f});
  opt.ZeroGrad();
  EXPECT_FALSE(p.grad().defined());
}

TEST(IeeeSqrtTest, RoundsAsIeeeOnEveryElement) {
  // Moments of every size AdamW meets, zero and subnormals included, non-contiguous too; each
  // element must be the correctly rounded root (std::sqrt), bit for bit.
  at::manual_seed(0);
  at::Tensor v = at::rand({4096, 33}) * at::pow(10.0, at::randint(-45, 3, {4096, 33}));
  v[0][0] = 0;
  v[1][0] = std::numeric_limits<float>::denorm_min();
  const at::Tensor x = v.t();
  const at::Tensor got = IeeeSqrt(x).contiguous();
  const at::Tensor in = x.contiguous();
  ASSERT_EQ(got.sizes(), in.sizes());
  for (int64_t i = 0; i < in.numel(); ++i) {
    const float want = std::sqrt(in.const_data_ptr<float>()[i]);
    ASSERT_EQ(std::bit_cast<uint32_t>(got.const_data_ptr<float>()[i]), std::bit_cast<uint32_t>(want))
        << "element " << i;
  }
}

TEST(ScheduleTest, WarmupThenDecayAsHf) {
  ScheduleOptions s{.kind = ScheduleOptions::Kind::kCosine, .lr = 1.0, .warmup_steps = 10, .total_steps = 110};
  EXPECT_EQ(LearningRate(s, 0), 0.0);
  EXPECT_NEAR(LearningRate(s, 5), 0.5, 1e-12);
  EXPECT_NEAR(LearningRate(s, 10), 1.0, 1e-12);
  EXPECT_NEAR(LearningRate(s, 60), 0.5, 1e-12);  // halfway through the cosine
  EXPECT_NEAR(LearningRate(s, 110), 0.0, 1e-12);
  EXPECT_NEAR(LearningRate(s, 500), 0.0, 1e-12);
  s.min_lr_ratio = 0.1;
  EXPECT_NEAR(LearningRate(s, 60), 0.55, 1e-12);
  EXPECT_NEAR(LearningRate(s, 110), 0.1, 1e-12);
  s = {.kind = ScheduleOptions::Kind::kLinear, .lr = 2.0, .warmup_steps = 0, .total_steps = 4};
  EXPECT_NEAR(LearningRate(s, 0), 2.0, 1e-12);
  EXPECT_NEAR(LearningRate(s, 1), 1.5, 1e-12);
  EXPECT_NEAR(LearningRate(s, 4), 0.0, 1e-12);
  s = {.kind = ScheduleOptions::Kind::kConstant, .lr = 3.0, .warmup_steps = 2};
  EXPECT_NEAR(LearningRate(s, 1), 1.5, 1e-12);
  EXPECT_NEAR(LearningRate(s, 1000), 3.0, 1e-12);
  EXPECT_THAT(ParseScheduleKind("exponential"),
              StatusIs(absl::StatusCode::kInvalidArgument, "constant, linear, cosine"));
}

TEST(ClipGradNormTest, ScalesTheGlobalNormDown) {
  at::Tensor a = Param({0, 0}), b = Param({0});
  SetGrad(a, {3.0f, 0.0f});
  SetGrad(b, {4.0f});  // global norm 5
  EXPECT_NEAR(ClipGradNorm({a, b}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad()[0].item<double>(), 0.8, 1e-5);
  EXPECT_NEAR(ClipGradNorm({a, b}, 10.0), 1.0, 1e-5);  // under the limit: untouched
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-5);
}

TEST(DefaultDecayTest, NormsAndBiasesAreNotDecayed) {
  EXPECT_TRUE(DefaultDecay("model.layers.0.mlp.up_proj.weight"));
  EXPECT_FALSE(DefaultDecay("model.layers.0.input_layernorm.weight"));
  EXPECT_FALSE(DefaultDecay("model.norm.weight"));
  EXPECT_FALSE(DefaultDecay("model.layers.0.self_attn.q_proj.bias"));
}

}  // namespace
}  // namespace rto
