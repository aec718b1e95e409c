// Data-parallel training through the RL actors' mini-batch loop: two ranks (threads here, each
// with its own Gloo rank and model) that each run half of every mini-batch and sum gradients
// end with the weights of one rank that runs it all.
#include "common/train/data_parallel.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "common/actors/train_mini_batches.h"
#include "common/util/file.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tiny_models.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::RandomModel;
using testing::StatusIs;
using testing::TempDir;
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

// Calls of two epochs of mini-batches of 4 (two optimiser steps each) of the token log-prob loss
// at steps [first, first + calls), on a fresh model restored from `restore` first when it is not
// empty, saved into `save` afterwards when that is not empty; the model's weights afterwards.
std::vector<at::Tensor> TrainSteps(DataParallelGroup* group, Precision precision, int64_t first, int64_t calls,
                                   const std::string& restore = "", const std::string& save = "") {
  auto model = RandomModel(TinyConfig(2), 51);
  TrainableModel trainable(*model, {.lr = 1e-2, .max_grad_norm = 0.5, .total_steps = 8}, precision);
  trainable.SetDataParallel(group);
  if (!restore.empty()) EXPECT_THAT(trainable.Restore(restore), IsOk());
  const ActorTrainOptions options{.epochs = 2, .mini_batch = 4, .micro_batch = 1, .seed = 3};
  auto batch = MakeTrajectoryBatch(Trajectories(), *model);
  EXPECT_THAT(batch, IsOk());
  Metrics metrics;
  for (int64_t step = first; step < first + calls; ++step) {
    EXPECT_THAT(TrainMiniBatches(trainable, options, *batch, step, metrics, "policy/",
                                 [&](const TrajectoryBatch& mb, const std::vector<int64_t>&, int64_t) {
                                   Transformer& m = trainable.model();
                                   at::Tensor states = ResponseStates(m.Forward(mb.ids, mb.attention), mb);
                                   return -(m.TokenLogProbs(states, mb.targets) * mb.mask).sum();
                                 }),
                IsOk());
  }
  if (!save.empty()) EXPECT_THAT(trainable.Save(save, save), IsOk());
  std::vector<at::Tensor> weights;
  for (const NamedParameter& p : trainable.master().parameters()) weights.push_back(p.tensor.clone());
  return weights;
}

std::vector<at::Tensor> Train(DataParallelGroup* group, Precision precision) {
  return TrainSteps(group, precision, 0, 1);
}

// Every tensor of `a` within `rtol` of `b`'s, relative to its norm (float sums in another order).
void ExpectClose(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, double rtol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const double relative = ((a[i] - b[i]).norm() / b[i].norm()).item<double>();
    EXPECT_LT(relative, rtol) << i << " " << relative;
  }
}

void ExpectEqual(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(at::equal(a[i], b[i])) << i;
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
  ExpectEqual(rank_weights[0], rank_weights[1]);  // the ranks stay in step
  ExpectClose(rank_weights[0], one, rtol);
}

TEST(DataParallelTest, TwoRanksEqualOneRankInFloat32) { ExpectTwoRanksEqualOne(Precision::kFp32, 1e-6); }

// bf16 gradients summed in another order: at most 2.4e-3 relative measured.
TEST(DataParallelTest, TwoRanksEqualOneRankWithMixedPrecision) { ExpectTwoRanksEqualOne(Precision::kBf16, 1e-2); }

// The optimiser state of two ranks is saved in two shards; it loads into one rank, into three
// (re-sharding), and into two again, whose next step is bitwise the step of an unbroken run.
TEST(DataParallelTest, ShardedCheckpointsResumeExactlyAndReshard) {
  TempDir tmp;
  const std::string saved = tmp.Join("two-ranks");
  const std::vector<at::Tensor> one = TrainSteps(nullptr, Precision::kFp32, 0, 2);
  std::vector<at::Tensor> unbroken[2], resumed[2], three[3];
  RunRanks(2, 4096, [&](DataParallelGroup& g) { unbroken[g.rank()] = TrainSteps(&g, Precision::kFp32, 0, 2); });
  RunRanks(2, 4096, [&](DataParallelGroup& g) { TrainSteps(&g, Precision::kFp32, 0, 1, "", saved); });
  EXPECT_TRUE(std::filesystem::exists(saved + "/optimizer-0-of-2.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(saved + "/optimizer-1-of-2.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(saved + "/optimizer.safetensors"));
  auto state = ReadFileToString(saved + "/optimizer.json");
  ASSERT_THAT(state, IsOk());
  EXPECT_THAT(*state, ::testing::HasSubstr("\"optimizer_shards\":2"));

  RunRanks(2, 4096, [&](DataParallelGroup& g) { resumed[g.rank()] = TrainSteps(&g, Precision::kFp32, 1, 1, saved); });
  ExpectEqual(resumed[0], unbroken[0]);
  ExpectEqual(resumed[1], unbroken[0]);
  ExpectClose(TrainSteps(nullptr, Precision::kFp32, 1, 1, saved), one, 1e-6);
  RunRanks(3, 4096, [&](DataParallelGroup& g) { three[g.rank()] = TrainSteps(&g, Precision::kFp32, 1, 1, saved); });
  ExpectEqual(three[2], three[0]);
  ExpectClose(three[0], one, 1e-6);

  // A missing shard is named.
  std::filesystem::remove(saved + "/optimizer-1-of-2.safetensors");
  auto model = RandomModel(TinyConfig(2), 51);
  TrainableModel trainable(*model, {});
  EXPECT_THAT(trainable.Restore(saved), StatusIs(absl::StatusCode::kNotFound, "optimizer-1-of-2.safetensors"));
}

// Three ranks: per-rank sums and maxima, and the broadcast of each owner's parameters.
TEST(DataParallelTest, SumsMaximaAndOwnersBroadcasts) {
  RunRanks(3, 64, [&](DataParallelGroup& group) {
    const int r = group.rank();
    auto sums = group.SumOverRanks({1.0, static_cast<double>(r), 0.5 * r});
    ASSERT_THAT(sums, IsOk());
    EXPECT_EQ(*sums, (std::vector<double>{3.0, 3.0, 1.5})) << "rank " << r;
    auto max = group.MaxOverRanks({static_cast<double>(-r), static_cast<double>(r)});
    ASSERT_THAT(max, IsOk());
    EXPECT_EQ(*max, (std::vector<double>{0.0, 2.0})) << "rank " << r;
    // Parameter i holds this rank's number; after the broadcast it holds its owner's. Buckets
    // of 64 bytes split the owners' runs.
    const std::vector<int> owners = {0, 0, 1, 2, 2, 2};
    std::vector<at::Tensor> params;
    for (int i = 0; i < 6; ++i) params.push_back(at::full({5 + i}, static_cast<float>(r)));
    ASSERT_THAT(group.BroadcastFromOwners(params, owners), IsOk());
    for (int i = 0; i < 6; ++i) {
      EXPECT_TRUE(at::equal(params[i], at::full({5 + i}, static_cast<float>(owners[i])))) << "rank " << r << " " << i;
    }
  });
}

TEST(OptimizerOwnersTest, ContiguousRunsOfAboutEqualSize) {
  std::vector<at::Tensor> params;
  for (int64_t n : {10, 10, 10, 10, 40, 10, 10}) params.push_back(at::zeros({n}));
  EXPECT_EQ(OptimizerOwners(params, 1), (std::vector<int>{0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(OptimizerOwners(params, 2), (std::vector<int>{0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(OptimizerOwners(params, 3), (std::vector<int>{0, 0, 0, 1, 1, 2, 2}));
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
