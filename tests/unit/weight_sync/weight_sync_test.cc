// Weight broadcast over a real Gloo process group on loopback, each rank in its own thread; every
// test runs on both transports of CPU weights: the shared-memory ring and Gloo's TCP.
#include "common/weight_sync/weight_sync.h"

#include <ATen/ATen.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/testing/test_util.h"

namespace rto {
namespace {

using testing::IsOk;
using testing::StatusIs;
using namespace std::chrono_literals;

std::vector<at::Tensor> Weights(uint64_t seed, bool zeros = false) {
  at::manual_seed(seed);
  std::vector<at::Tensor> out = {at::randn({7, 5}), at::randn({3}).to(at::kBFloat16), at::randn({11, 2}),
                                 at::randint(0, 100, {9}, at::kLong)};
  if (zeros) {
    for (at::Tensor& t : out) t.zero_();
  }
  return out;
}

// Runs fn(rank) for every rank on its own thread and waits for all.
void OnRanks(int n, const std::function<void(int)>& fn) {
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) threads.emplace_back(fn, r);
  for (std::thread& t : threads) t.join();
}

// The parameter: whether the group may use shared memory.
class WeightSyncTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto s = Rendezvous::Start("127.0.0.1", 0, 10s);
    ASSERT_THAT(s, IsOk());
    server_ = std::move(*s);
  }
  WeightGroupOptions Options(int rank, int world, int64_t generation = 0) {
    return {.store_port = server_->port(),
            .rank = rank,
            .world_size = world,
            .generation = generation,
            .timeout = 5s,
            .bucket_bytes = 40,  // buckets (and ring slots of 5) smaller than most tensors: slices span them
            .shared_memory = GetParam()};
  }
  std::unique_ptr<Rendezvous> server_;
};

TEST_P(WeightSyncTest, EveryReceiverEndsWithTheSendersWeightsAndVersion) {
  const std::vector<at::Tensor> sent = Weights(1);
  std::vector<std::vector<at::Tensor>> got(3);
  std::vector<absl::StatusOr<BroadcastStats>> stats(3, absl::UnknownError("not run"));
  OnRanks(3, [&](int rank) {
    auto group = WeightGroup::Join(Options(rank, 3), rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    got[rank] = rank == 0 ? sent : Weights(2, /*zeros=*/true);
    stats[rank] = (*group)->Broadcast(got[rank], 17);
  });
  for (int rank = 0; rank < 3; ++rank) {
    ASSERT_THAT(stats[rank], IsOk()) << rank;
    EXPECT_EQ(stats[rank]->version, 17);
    EXPECT_EQ(stats[rank]->bytes, 7 * 5 * 4 + 3 * 2 + 11 * 2 * 4 + 9 * 8);
    EXPECT_EQ(stats[rank]->transport, GetParam() ? "shm" : "gloo");
    const int64_t chunk = GetParam() ? 5 : 40;
    EXPECT_EQ(stats[rank]->buckets, (stats[rank]->bytes + chunk - 1) / chunk);
    EXPECT_EQ(HashTensors(got[rank]), HashTensors(sent)) << rank;
    for (size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE(at::equal(got[rank][i], sent[i])) << rank << " " << i;
  }
  EXPECT_NE(HashTensors(Weights(2)), HashTensors(sent));
}

TEST_P(WeightSyncTest, ConsecutiveBroadcastsOnOneGroupEachArriveWhole) {
  // Made before the threads start: Weights() seeds LibTorch's global generator.
  const std::vector<std::vector<at::Tensor>> versions = {Weights(3), Weights(4), Weights(5)};
  std::vector<std::vector<at::Tensor>> mine = {Weights(3), Weights(0, true), Weights(0, true)};
  OnRanks(3, [&](int rank) {
    auto group = WeightGroup::Join(Options(rank, 3), rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    for (int64_t version = 1; version <= 3; ++version) {
      if (rank == 0) mine[0] = versions[version - 1];
      ASSERT_THAT((*group)->Broadcast(mine[rank], version), IsOk());
      EXPECT_EQ(HashTensors(mine[rank]), HashTensors(versions[version - 1]))
          << "rank " << rank << " version " << version;
    }
  });
}

TEST_P(WeightSyncTest, OneRankWithoutSharedMemoryMakesTheGroupUseGloo) {
  const std::vector<at::Tensor> sent = Weights(1);
  std::vector<std::string> transports(3);
  std::vector<std::vector<at::Tensor>> got(3);
  OnRanks(3, [&](int rank) {
    WeightGroupOptions o = Options(rank, 3);
    if (rank == 2) o.shared_memory = false;
    auto group = WeightGroup::Join(o, rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    transports[rank] = (*group)->transport();
    got[rank] = rank == 0 ? sent : Weights(2, true);
    ASSERT_THAT((*group)->Broadcast(got[rank], 1), IsOk());
    EXPECT_FALSE((*group)->why_not_same_host().empty());
  });
  EXPECT_EQ(transports, (std::vector<std::string>{"gloo", "gloo", "gloo"}));
  EXPECT_EQ(HashTensors(got[1]), HashTensors(sent));
  EXPECT_EQ(HashTensors(got[2]), HashTensors(sent));
}

TEST_P(WeightSyncTest, AReceiverWithAnotherLayoutFailsAndTheSenderStillCompletes) {
  std::vector<absl::StatusOr<BroadcastStats>> stats(2, absl::UnknownError("not run"));
  OnRanks(2, [&](int rank) {
    auto group = WeightGroup::Join(Options(rank, 2), rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    std::vector<at::Tensor> w = Weights(1);
    if (rank == 1) w[2] = at::zeros({2, 11});  // same bytes, other shape
    stats[rank] = (*group)->Broadcast(w, 3);
  });
  EXPECT_THAT(stats[0], IsOk());
  EXPECT_THAT(stats[1].status(), StatusIs(absl::StatusCode::kFailedPrecondition, "do not match this model"));
}

TEST_P(WeightSyncTest, AReceiverThatStopsAnsweringFailsTheBroadcastWithinTheTimeout) {
  absl::StatusOr<BroadcastStats> root_stats = absl::UnknownError("not run");
  double seconds = 0;
  OnRanks(2, [&](int rank) {
    WeightGroupOptions o = Options(rank, 2);
    o.timeout = 2s;
    o.bucket_bytes = 8 << 20;
    auto group = WeightGroup::Join(o, rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    if (rank == 1) {
      std::this_thread::sleep_for(4s);  // joined, then never takes part
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    root_stats = (*group)->Broadcast({at::ones({16 << 20})}, 1);  // 64 MB
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  EXPECT_FALSE(root_stats.ok());
  EXPECT_LT(seconds, 3.5);
}

TEST_P(WeightSyncTest, ANewGenerationBringsInAWorkerThatJoinedLate) {
  const std::vector<at::Tensor> v1 = Weights(1), v2 = Weights(5);
  std::vector<at::Tensor> early = Weights(0, true);
  OnRanks(2, [&](int rank) {
    auto group = WeightGroup::Join(Options(rank, 2, 0), rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    ASSERT_THAT((*group)->Broadcast(rank == 0 ? v1 : early, 1), IsOk());
  });
  // A worker arrives: generation 1 has three ranks, and both workers get version 2.
  std::vector<at::Tensor> late = Weights(0, true);
  std::vector<int64_t> versions(3);
  OnRanks(3, [&](int rank) {
    auto group = WeightGroup::Join(Options(rank, 3, 1), rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    auto stats = (*group)->Broadcast(rank == 0 ? v2 : rank == 1 ? early : late, 2);
    ASSERT_THAT(stats, IsOk());
    versions[rank] = stats->version;
  });
  EXPECT_EQ(versions, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(HashTensors(early), HashTensors(v2));
  EXPECT_EQ(HashTensors(late), HashTensors(v2));
}

TEST_P(WeightSyncTest, AStrangerWithoutTheRunsSecretCannotJoinTheGroup) {
  // Rank 1 is a stranger that reached the store and guessed all but the secret: no group forms.
  std::vector<absl::Status> joined(2);
  OnRanks(2, [&](int rank) {
    WeightGroupOptions o = Options(rank, 2);
    o.timeout = 2s;
    o.secret = rank == 0 ? "the run's secret" : "a guess";
    joined[rank] = WeightGroup::Join(o, rank == 0 ? server_.get() : nullptr).status();
  });
  EXPECT_FALSE(joined[0].ok());
  EXPECT_FALSE(joined[1].ok());
  // The run's own worker holds the secret and joins the next generation.
  const std::vector<at::Tensor> sent = Weights(1);
  std::vector<at::Tensor> got = Weights(0, true);
  OnRanks(2, [&](int rank) {
    WeightGroupOptions o = Options(rank, 2, 1);
    o.secret = "the run's secret";
    auto group = WeightGroup::Join(o, rank == 0 ? server_.get() : nullptr);
    ASSERT_THAT(group, IsOk());
    ASSERT_THAT((*group)->Broadcast(rank == 0 ? sent : got, 1), IsOk());
  });
  EXPECT_EQ(HashTensors(got), HashTensors(sent));
}

TEST_P(WeightSyncTest, BadOptionsAreRejected) {
  EXPECT_THAT(WeightGroup::Join(Options(2, 2), nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "rank 2"));
  EXPECT_THAT(WeightGroup::Join(Options(0, 2), nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "hosts the store"));
  WeightGroupOptions o = Options(1, 2);
  o.store_port = 1;  // nothing listens there
  o.timeout = 1s;
  EXPECT_THAT(WeightGroup::Join(o, nullptr).status(), StatusIs(absl::StatusCode::kUnavailable, "could not join"));
}

#ifndef USE_C10D_NCCL
TEST_P(WeightSyncTest, WeightsOnCudaNeedALibTorchWithNccl) {
  WeightGroupOptions o = Options(0, 1);
  o.cuda_device = 0;
  EXPECT_THAT(WeightGroup::Join(o, server_.get()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, "this build's LibTorch has no NCCL"));
}
#endif

INSTANTIATE_TEST_SUITE_P(Transports, WeightSyncTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "SharedMemory" : "Gloo"; });

// The store cannot do TLS, so it listens only on the address the ranks reach it at: here
// 127.0.0.1, and not 127.0.0.2, which is loopback too.
TEST(RendezvousTest, ListensOnlyOnItsHost) {
  auto store = Rendezvous::Start("127.0.0.1", 0, 10s);
  ASSERT_THAT(store, IsOk());
  const auto connects = [&](const char* ip) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>((*store)->port()));
    ::inet_pton(AF_INET, ip, &address.sin_addr);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    return ok;
  };
  EXPECT_TRUE(connects("127.0.0.1"));
  EXPECT_FALSE(connects("127.0.0.2"));
  EXPECT_THAT(
      Rendezvous::Start("no-such-host.invalid", 0, 1s).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, "cannot resolve the rendezvous host 'no-such-host.invalid'"));
}

}  // namespace
}  // namespace rto
