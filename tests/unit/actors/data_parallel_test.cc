// Data-parallel training through the RL actors' mini-batch loop: two ranks (threads here, each
// with its own Gloo rank and model) that each run half of every mini-batch and sum gradients
// end with the weights of one rank that runs it all.
#include "common/train/data_parallel.h"

#include <ATen/ATen.h>

#include <functional>
#include <thread>

#include "common/actors/train_mini_batches.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::RandomModel;
using testing::StatusIs;
using testing::TinyConfig;

TEST(RankShareTest, ContiguousPartsTheFirstRanksTakingTheRest) {
  const std::vector<int64_t> rows = {7, 3, 9, 1, 4};
  EXPECT_EQ(RankShare(rows, 0, 2), (std::vector<int64_t>{7, 3, 9}));
  EXPECT_EQ(RankShare(rows, 1, 2), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(RankShare(rows, 2, 3), (std::vector<int64_t>{4}));
  EXPECT_TRUE(RankShare({1}, 1, 2).empty());
  EXPECT_EQ(RankShare(rows, 0, 1), rows);
}

// Six trajectories of different lengths (so the ranks' shares have different token counts).
std::vector<Trajectory> Trajectories() {
  std::vector<Trajectory> out;
  for (int64_t i = 0; i < 6; ++i) {
    Trajectory t{.id = static_cast<uint64_t>(i), .prompt = {1 + i, 2, 3}};
    for (int64_t j = 0; j <= i % 3 + 1; ++j) t.response.push_back((5 * i + 7 * j) % 60 + 1);
    out.push_back(t);
  }
  return out;
}

// Two epochs of mini-batches of 4 (two optimiser steps each) of the token log-prob loss; the
// model's weights afterwards.
std::vector<at::Tensor> Train(DataParallelGroup* group, Precision precision) {
  auto model = RandomModel(TinyConfig(2), 51);
  TrainableModel trainable(*model, {.lr = 1e-2, .max_grad_norm = 0.5, .total_steps = 4}, precision);
  trainable.SetDataParallel(group);
  const ActorTrainOptions options{.epochs = 2, .mini_batch = 4, .micro_batch = 1, .seed = 3};
  auto batch = MakeTrajectoryBatch(Trajectories(), *model);
  EXPECT_THAT(batch, IsOk());
  Metrics metrics;
  EXPECT_THAT(TrainMiniBatches(trainable, options, *batch, /*step=*/0, metrics, "policy/",
                               [&](const TrajectoryBatch& mb, const std::vector<int64_t>&, int64_t) {
                                 Transformer& m = trainable.model();
                                 at::Tensor states = ResponseStates(m.Forward(mb.ids, mb.attention), mb);
                                 return -(m.TokenLogProbs(states, mb.targets) * mb.mask).sum();
                               }),
              IsOk());
  std::vector<at::Tensor> weights;
  for (const NamedParameter& p : trainable.master().parameters()) weights.push_back(p.tensor.clone());
  return weights;
}

// Runs `rank_fn(group)` on `world_size` threads, each a rank of one data-parallel group.
void RunRanks(int world_size, int64_t bucket_bytes, const std::function<void(DataParallelGroup&)>& rank_fn) {
  auto rendezvous = Rendezvous::Start("127.0.0.1", 0, std::chrono::seconds(30));
  ASSERT_THAT(rendezvous, IsOk());
  std::vector<std::thread> ranks;
  for (int r = 0; r < world_size; ++r) {
    ranks.emplace_back([&, r] {
      DataParallelOptions o{
          .port = (*rendezvous)->port(), .rank = r, .world_size = world_size, .bucket_bytes = bucket_bytes};
      auto group = DataParallelGroup::Join(o, r == 0 ? rendezvous->get() : nullptr);
      ASSERT_THAT(group, IsOk()) << "rank " << r;
      rank_fn(**group);
    });
  }
  for (std::thread& t : ranks) t.join();
}

void ExpectTwoRanksEqualOne(Precision precision, double rtol) {
  const std::vector<at::Tensor> one = Train(nullptr, precision);
  std::vector<at::Tensor> rank_weights[2];
  RunRanks(2, 4096, [&](DataParallelGroup& group) { rank_weights[group.rank()] = Train(&group, precision); });
  ASSERT_EQ(rank_weights[0].size(), one.size());
  ASSERT_EQ(rank_weights[1].size(), one.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_TRUE(at::equal(rank_weights[0][i], rank_weights[1][i])) << i;  // the ranks stay in step
    // Relative to the tensor's norm: the float sums run in another order.
    const double relative = ((rank_weights[0][i] - one[i]).norm() / one[i].norm()).item<double>();
    EXPECT_LT(relative, rtol) << i << " " << relative;
  }
}

TEST(DataParallelTest, TwoRanksEqualOneRankInFloat32) { ExpectTwoRanksEqualOne(Precision::kFp32, 1e-6); }

// bf16 gradients summed in another order: at most 2.4e-3 relative measured.
TEST(DataParallelTest, TwoRanksEqualOneRankWithMixedPrecision) { ExpectTwoRanksEqualOne(Precision::kBf16, 1e-2); }

// Three ranks: rank 0's bytes (the experience of a train call) reach every rank, and per-rank
// sums add up.
TEST(DataParallelTest, BroadcastBytesAndSumOverRanks) {
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  RunRanks(3, DataParallelOptions{}.bucket_bytes, [&](DataParallelGroup& group) {
    const int r = group.rank();
    for (const std::string& sent : {big, std::string()}) {
      auto got = group.BroadcastBytes(r == 0 ? sent : "ignored");
      ASSERT_THAT(got, IsOk());
      EXPECT_EQ(*got, sent) << "rank " << r;
    }
    auto sums = group.SumOverRanks({1.0, static_cast<double>(r), 0.5 * r});
    ASSERT_THAT(sums, IsOk());
    EXPECT_EQ(*sums, (std::vector<double>{3.0, 3.0, 1.5})) << "rank " << r;
  });
}

TEST(DataParallelTest, BadGroupsAreRefused) {
  EXPECT_THAT(DataParallelGroup::Join({.rank = 2, .world_size = 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, "rank 2 outside a data-parallel group of 2"));
  EXPECT_THAT(DataParallelGroup::Join({.rank = 0, .world_size = 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, "rank 0 hosts the data-parallel rendezvous"));
  // Nobody listens there: the join fails within its timeout, naming the address.
  EXPECT_THAT(DataParallelGroup::Join({.port = 1, .rank = 1, .world_size = 2, .timeout = std::chrono::seconds(1)}),
              StatusIs(absl::StatusCode::kUnavailable, "could not join the data-parallel group of 2 via 127.0.0.1:1"));
}

}  // namespace
}  // namespace rto
