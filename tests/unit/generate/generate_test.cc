#include "common/generate/generate.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <set>

#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::RandomModel;
using testing::StatusIs;
using testing::TinyConfig;

const std::vector<std::vector<int64_t>> kPrompts = {{5, 17, 3, 42, 8}, {11}, {7, 30, 2, 50}};

at::Tensor Row(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).unsqueeze(0); }

TEST(GenerateTest, GreedyEqualsStepByStepArgmaxOfTheFullForward) {
  auto model = RandomModel(TinyConfig(2), 1);
  SamplingParams params{.temperature = 0, .max_new_tokens = 7};
  auto gens = Generate(*model, kPrompts, params);
  ASSERT_THAT(gens, IsOk());
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    std::vector<int64_t> seq = kPrompts[i];
    for (int step = 0; step < 7; ++step) {
      at::Tensor logits = model->Logits(model->Forward(Row(seq), at::ones({1, (int64_t)seq.size()}, at::kLong)));
      seq.push_back(logits[0][-1].argmax().item<int64_t>());
    }
    std::vector<int64_t> expected(seq.begin() + kPrompts[i].size(), seq.end());
    EXPECT_EQ((*gens)[i].tokens, expected) << "prompt " << i;
    EXPECT_EQ((*gens)[i].finish_reason, FinishReason::kLength);
  }
}

TEST(GenerateTest, BehaviourLogProbsEqualTheLearnersForward) {
  auto model = RandomModel(TinyConfig(2), 2);
  for (double temperature : {1.0, 0.7}) {
    SamplingParams params{.temperature = temperature, .top_k = 20, .top_p = 0.9, .max_new_tokens = 6, .seed = 3};
    auto gens = Generate(*model, kPrompts, params);
    ASSERT_THAT(gens, IsOk());
    c10::NoGradGuard no_grad;
    for (size_t i = 0; i < kPrompts.size(); ++i) {
      std::vector<int64_t> seq = kPrompts[i];
      seq.insert(seq.end(), (*gens)[i].tokens.begin(), (*gens)[i].tokens.end());
      const int64_t n = seq.size(), p = kPrompts[i].size();
      at::Tensor hidden = model->Forward(Row(seq), at::ones({1, n}, at::kLong));
      // Position t predicts token t + 1.
      at::Tensor lp =
          model->TokenLogProbs(hidden.narrow(1, p - 1, n - p), Row(seq).narrow(1, p, n - p), temperature)[0];
      at::Tensor behaviour = at::tensor((*gens)[i].logprobs, at::kFloat);
      EXPECT_TRUE(at::allclose(lp, behaviour, 1e-5, 1e-5)) << "prompt " << i << " temperature " << temperature;
    }
  }
}

TEST(GenerateTest, SamplesDependOnSeedButNotOnBatchComposition) {
  auto model = RandomModel(TinyConfig(2), 4);
  SamplingParams params{.temperature = 1.0, .max_new_tokens = 8, .seed = 11};
  auto together = Generate(*model, kPrompts, params, {100, 101, 102});
  ASSERT_THAT(together, IsOk());
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    auto alone = Generate(*model, {kPrompts[i]}, params, {100 + i});
    ASSERT_THAT(alone, IsOk());
    EXPECT_EQ((*alone)[0].tokens, (*together)[i].tokens) << "prompt " << i;
  }
  params.seed = 12;
  auto other = Generate(*model, kPrompts, params, {100, 101, 102});
  int differing = 0;
  for (size_t i = 0; i < kPrompts.size(); ++i) differing += (*other)[i].tokens != (*together)[i].tokens;
  EXPECT_GT(differing, 0);
}

TEST(GenerateTest, StopTokensEndSequencesEarlyWithoutDisturbingTheRest) {
  auto model = RandomModel(TinyConfig(2), 5);
  SamplingParams greedy{.temperature = 0, .max_new_tokens = 6};
  auto free_run = Generate(*model, kPrompts, greedy);
  ASSERT_THAT(free_run, IsOk());
  // Stop on the second token that prompt 0 would produce: it must end there, the others not.
  int64_t stop = (*free_run)[0].tokens[1];
  greedy.stop_token_ids = {stop};
  auto stopped = Generate(*model, kPrompts, greedy);
  ASSERT_THAT(stopped, IsOk());
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    const auto& full = (*free_run)[i].tokens;
    auto it = std::find(full.begin(), full.end(), stop);
    if (it == full.end()) {
      EXPECT_EQ((*stopped)[i].tokens, full);
      EXPECT_EQ((*stopped)[i].finish_reason, FinishReason::kLength);
    } else {
      EXPECT_EQ((*stopped)[i].tokens, std::vector<int64_t>(full.begin(), it + 1)) << "prompt " << i;
      EXPECT_EQ((*stopped)[i].finish_reason, FinishReason::kStop);
    }
  }
  EXPECT_EQ((*stopped)[0].tokens.size(), 2u);
}

// Probabilities 0.5, 0.3, 0.15, 0.05 and many evenly spread uniforms: the draw is an inverse CDF,
// so the counts are exact.
std::map<int64_t, int> Counts(const SamplingParams& params) {
  const int n = 2000;
  at::Tensor logits = at::log(at::tensor({0.5f, 0.3f, 0.15f, 0.05f})).unsqueeze(0).expand({n, 4}).contiguous();
  at::Tensor u = (at::arange(n, at::kDouble) + 0.5) / n;
  at::Tensor picks = SampleTokens(logits, params, u);
  std::map<int64_t, int> counts;
  for (int i = 0; i < n; ++i) counts[picks[i].item<int64_t>()]++;
  return counts;
}

TEST(SampleTokensTest, InverseCdfFollowsTheDistribution) {
  auto counts = Counts({.temperature = 1.0});
  EXPECT_EQ(counts, (std::map<int64_t, int>{{0, 1000}, {1, 600}, {2, 300}, {3, 100}}));
}

TEST(SampleTokensTest, TopKKeepsTheKMostLikely) {
  auto counts = Counts({.temperature = 1.0, .top_k = 2});
  EXPECT_EQ(counts, (std::map<int64_t, int>{{0, 1250}, {1, 750}}));  // 0.5 : 0.3 renormalised
  EXPECT_EQ(Counts({.temperature = 1.0, .top_k = 1}), (std::map<int64_t, int>{{0, 2000}}));
}

TEST(SampleTokensTest, TopPKeepsTheSmallestSetReachingP) {
  EXPECT_EQ(Counts({.temperature = 1.0, .top_p = 0.5}), (std::map<int64_t, int>{{0, 2000}}));
  EXPECT_EQ(Counts({.temperature = 1.0, .top_p = 0.7}), (std::map<int64_t, int>{{0, 1250}, {1, 750}}));
  auto three = Counts({.temperature = 1.0, .top_p = 0.9});
  EXPECT_EQ(three.size(), 3u);
  EXPECT_EQ(three.count(3), 0u);
}

TEST(SampleTokensTest, TemperatureSharpens) {
  auto cold = Counts({.temperature = 0.5});  // p^2 renormalised: 0.25 / 0.365 for token 0
  EXPECT_NEAR(cold[0] / 2000.0, 0.25 / 0.365, 0.002);
  EXPECT_EQ(Counts({.temperature = 0}), (std::map<int64_t, int>{{0, 2000}}));
}

TEST(CounterUniformTest, IsInRangeDeterministicAndUniform) {
  double sum = 0;
  std::set<double> distinct;
  for (uint64_t i = 0; i < 10000; ++i) {
    double u = CounterUniform(1, 2, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    distinct.insert(u);
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.01);
  EXPECT_EQ(distinct.size(), 10000u);
  EXPECT_EQ(CounterUniform(1, 2, 3), CounterUniform(1, 2, 3));
  EXPECT_NE(CounterUniform(1, 2, 3), CounterUniform(1, 3, 3));
}

TEST(GenerateTest, BadRequestsAreRejectedWithAReason) {
  auto model = RandomModel(TinyConfig(2), 6);
  SamplingParams ok{.max_new_tokens = 2};
  EXPECT_THAT(Generate(*model, {{1, 2}, {}}, ok), StatusIs(absl::StatusCode::kInvalidArgument, "prompt 1 is empty"));
  EXPECT_THAT(Generate(*model, {{1, 99}}, ok),
              StatusIs(absl::StatusCode::kInvalidArgument, "prompt 0: token id 99 is outside the vocabulary"));
  EXPECT_THAT(Generate(*model, {{1}}, {.temperature = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, "temperature"));
  EXPECT_THAT(Generate(*model, {{1}}, {.top_p = 0}), StatusIs(absl::StatusCode::kInvalidArgument, "top_p"));
  EXPECT_THAT(Generate(*model, {{1}}, {.max_new_tokens = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, "max_new_tokens"));
  EXPECT_THAT(Generate(*model, {{1}}, {.stop_token_ids = {61}}),
              StatusIs(absl::StatusCode::kInvalidArgument, "stop token 61"));
  EXPECT_THAT(Generate(*model, {{1}}, ok, {1, 2}), StatusIs(absl::StatusCode::kInvalidArgument, "one per prompt"));
  ModelConfig c = TinyConfig(2);
  c.head = HeadKind::kScore;
  EXPECT_THAT(Generate(*RandomModel(c, 7), {{1}}, ok), StatusIs(absl::StatusCode::kInvalidArgument, "no LM head"));
  auto empty = Generate(*model, {}, ok);
  ASSERT_THAT(empty, IsOk());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace rto
