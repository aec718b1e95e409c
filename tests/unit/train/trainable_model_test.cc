#include "common/train/trainable_model.h"

#include <ATen/ATen.h>

#include "common/model/checkpoint.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::RandomModel;
using testing::TempDir;
using testing::TinyConfig;

// One step of a token log-prob loss through `trainable`.
double TrainStep(TrainableModel& trainable, const at::Tensor& ids) {
  Transformer& m = trainable.model();
  at::Tensor loss = -m.TokenLogProbs(m.Forward(ids, at::ones_like(ids)), ids).mean();
  loss.backward();
  Metrics metrics;
  trainable.Step(metrics);
  return loss.item<double>();
}

// Mixed precision: bf16 forward and backward, fp32 master weights and moments. The master moves
// as fp32 training does (close, not equal), the bf16 copy is always the master rounded, and a
// checkpoint holds the fp32 master.
TEST(TrainableModelTest, MixedPrecisionUpdatesFloat32MastersAndComputesInBfloat16) {
  auto fp32 = RandomModel(TinyConfig(2), 41);
  auto mixed = RandomModel(TinyConfig(2), 41);
  const OptimizerOptions options{.lr = 1e-2, .total_steps = 3};
  TrainableModel plain(*fp32, options), bf16(*mixed, options, Precision::kBf16);
  EXPECT_EQ(&plain.model(), fp32.get());
  EXPECT_EQ(bf16.model().dtype(), at::kBFloat16);
  EXPECT_EQ(bf16.master().dtype(), at::kFloat);
  const at::Tensor ids = at::tensor({3, 1, 4, 1, 5, 9, 2, 6}, at::kLong).view({2, 4});
  for (int step = 0; step < 3; ++step) {
    const double plain_loss = TrainStep(plain, ids), mixed_loss = TrainStep(bf16, ids);
    EXPECT_NEAR(mixed_loss, plain_loss, 0.05 * std::abs(plain_loss)) << step;
  }
  const auto start_model = RandomModel(TinyConfig(2), 41);
  for (size_t i = 0; i < fp32->parameters().size(); ++i) {
    const at::Tensor& master = bf16.master().parameters()[i].tensor;
    const at::Tensor& start = start_model->parameters()[i].tensor;
    const std::string& name = fp32->parameters()[i].name;
    EXPECT_FALSE(at::equal(master, start)) << name;  // trained
    EXPECT_TRUE(at::equal(bf16.model().parameters()[i].tensor, master.to(at::kBFloat16))) << name;
    // The update points the way fp32 training's does.
    const at::Tensor mixed_update = (master - start).flatten(),
                     plain_update = (fp32->parameters()[i].tensor - start).flatten();
    const double cosine =
        (at::dot(mixed_update, plain_update) / (mixed_update.norm() * plain_update.norm())).item<double>();
    EXPECT_GT(cosine, 0.98) << name;                                             // 0.991-0.9995 measured
    EXPECT_FALSE(bf16.model().parameters()[i].tensor.grad().defined()) << name;  // taken into the master's
  }

  TempDir tmp;
  ASSERT_THAT(bf16.Save(tmp.path(), tmp.path()), IsOk());
  auto saved = LoadModel(tmp.Join("model"));
  ASSERT_THAT(saved, IsOk());
  EXPECT_EQ((*saved)->dtype(), at::kFloat);
  auto other = RandomModel(TinyConfig(2), 99);
  TrainableModel restored(*other, options, Precision::kBf16);
  ASSERT_THAT(restored.Restore(tmp.path()), IsOk());
  for (size_t i = 0; i < fp32->parameters().size(); ++i) {
    EXPECT_TRUE(at::equal(restored.master().parameters()[i].tensor, bf16.master().parameters()[i].tensor));
    EXPECT_TRUE(at::equal(restored.model().parameters()[i].tensor, bf16.model().parameters()[i].tensor));
  }
  EXPECT_EQ(restored.optimizer_steps(), 3);
}

TEST(TrainableModelTest, PrecisionNames) {
  EXPECT_THAT(ParsePrecision("bf16"), testing::IsOkAndHolds(Precision::kBf16));
  EXPECT_THAT(ParsePrecision("fp32"), testing::IsOkAndHolds(Precision::kFp32));
  EXPECT_THAT(ParsePrecision("fp8"), testing::StatusIs(absl::StatusCode::kInvalidArgument, "expected fp32 or bf16"));
}

}  // namespace
}  // namespace rto
