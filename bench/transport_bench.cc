// The data plane's costs, medians side by side in one process:
//   - weight broadcast from the learner (rank 0) to rollout ranks on this host, each rank a
//     thread with its own c10d group, for 10 MB, 100 MB and 1 GB of float32 weights: through the
//     shared-memory ring (what `rto launch` uses on one host) and through Gloo over loopback TCP
//     (what ranks on other hosts use), against a plain memcpy of the same bytes as the ceiling.
//     Groups are formed once per size and reused (as in a run, one broadcast per step); the
//     transports take turns in each of 5 rounds, after one warm-up broadcast each.
//   - the wire: encoding and decoding a batch of trajectories (protobuf with packed tensors).
//
//   transport_bench [receivers]   (default 1 rollout rank)
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "common/rpc/wire.h"
#include "common/weight_sync/weight_sync.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// One group of 1 + receivers ranks on loopback; Broadcast() times one broadcast as the learner
// sees it (from its call to the moment every receiver holds the bytes).
class Group {
 public:
  Group(rto::Rendezvous& server, int receivers, int64_t generation, bool shared_memory, std::vector<at::Tensor>& sent,
        std::vector<std::vector<at::Tensor>>& received)
      : sent_(sent), received_(received) {
    rto::WeightGroupOptions o{.store_port = server.port(),
                              .world_size = 1 + receivers,
                              .generation = generation,
                              .timeout = std::chrono::seconds(120),
                              .shared_memory = shared_memory};
    std::vector<std::thread> joins;
    receivers_.resize(receivers);
    for (int r = 0; r < receivers; ++r) {
      joins.emplace_back([&, r, o]() mutable {
        o.rank = r + 1;
        auto g = rto::WeightGroup::Join(o);
        if (g.ok()) receivers_[r] = std::move(*g);
      });
    }
    auto g = rto::WeightGroup::Join(o, &server);
    for (std::thread& t : joins) t.join();
    if (g.ok()) root_ = std::move(*g);
  }
  bool ok() const {
    for (const auto& r : receivers_) {
      if (!r) return false;
    }
    return root_ != nullptr;
  }
  std::string transport() const { return root_->transport(); }

  double Broadcast(int64_t version) {
    std::vector<std::thread> threads;
    for (size_t r = 0; r < receivers_.size(); ++r) {
      threads.emplace_back([&, r] {
        if (!receivers_[r]->Broadcast(received_[r], version).ok()) std::printf("receive failed\n");
      });
    }
    const auto start = Clock::now();
    auto stats = root_->Broadcast(sent_, version);
    for (std::thread& t : threads) t.join();
    const double seconds = Seconds(start);
    if (!stats.ok()) std::printf("broadcast failed: %s\n", std::string(stats.status().message()).c_str());
    return seconds;
  }

 private:
  std::vector<at::Tensor>& sent_;
  std::vector<std::vector<at::Tensor>>& received_;
  std::unique_ptr<rto::WeightGroup> root_;
  std::vector<std::unique_ptr<rto::WeightGroup>> receivers_;
};

void WeightSync(int receivers) {
  auto server = rto::Rendezvous::Start("127.0.0.1", 0, std::chrono::seconds(120));
  if (!server.ok()) {
    std::printf("weight store: %s\n", std::string(server.status().message()).c_str());
    return;
  }
  std::printf("weights to %d receiver(s) on this host, medians of 5 interleaved rounds\n\n", receivers);
  std::printf("| weights | shm s | shm GB/s | gloo s | gloo GB/s | memcpy s | memcpy GB/s | shm / memcpy time |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  int64_t generation = 0;
  for (int64_t mb : {10, 100, 1000}) {
    // Tensors of a few MB each, like a model's layers.
    const int64_t bytes = mb * 1000 * 1000, per_tensor = 4 << 20;
    std::vector<at::Tensor> sent;
    std::vector<std::vector<at::Tensor>> received(receivers);
    for (int64_t left = bytes; left > 0; left -= per_tensor) {
      sent.push_back(at::randn({std::min(left, per_tensor) / 4}));
      for (auto& r : received) r.push_back(at::zeros_like(sent.back()));
    }
    Group shm(**server, receivers, generation++, true, sent, received);
    Group gloo(**server, receivers, generation++, false, sent, received);
    if (!shm.ok() || !gloo.ok() || shm.transport() != "shm" || gloo.transport() != "gloo") {
      std::printf("could not form the groups\n");
      return;
    }
    shm.Broadcast(0);
    gloo.Broadcast(0);
    std::vector<double> shm_s, gloo_s, copy_s;
    for (int round = 1; round <= 5; ++round) {
      shm_s.push_back(shm.Broadcast(round));
      gloo_s.push_back(gloo.Broadcast(round));
      const auto c = Clock::now();
      for (size_t i = 0; i < sent.size(); ++i) {
        std::memcpy(received[0][i].data_ptr(), sent[i].data_ptr(), sent[i].numel() * 4);
      }
      copy_s.push_back(Seconds(c));
    }
    for (const auto& r : received) {
      if (!at::equal(sent.back(), r.back())) std::printf("MISMATCH\n");
    }
    const double s = Median(shm_s), g = Median(gloo_s), m = Median(copy_s);
    std::printf("| %ld MB | %.4f | %.2f | %.4f | %.2f | %.4f | %.2f | %.2fx |\n", mb, s, bytes / s / 1e9, g,
                bytes / g / 1e9, m, bytes / m / 1e9, s / m);
  }
}

void Wire() {
  // 256 trajectories with 128 prompt and 512 response tokens, as a rollout batch.
  std::vector<rto::Trajectory> batch(256);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].id = i;
    batch[i].prompt.assign(128, 7);
    batch[i].response.assign(512, 11);
    batch[i].logprobs.assign(512, -0.5f);
  }
  std::vector<double> encode, decode;
  size_t bytes = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto start = Clock::now();
    rto::v1::TrajectoryBatch proto;
    rto::wire::ToProto(batch, &proto);
    std::string wire = proto.SerializeAsString();
    encode.push_back(Seconds(start));
    bytes = wire.size();
    start = Clock::now();
    rto::v1::TrajectoryBatch parsed;
    parsed.ParseFromString(wire);
    auto back = rto::wire::FromProto(parsed);
    decode.push_back(Seconds(start));
    if (!back.ok() || back->size() != batch.size()) std::printf("DECODE FAILED\n");
  }
  std::printf("\n| wire (256 trajectories, 128 + 512 tokens, %.1f MB) | s | MB/s |\n|---|---:|---:|\n", bytes / 1e6);
  std::printf("| encode (ToProto + serialize) | %.4f | %.0f |\n", Median(encode), bytes / Median(encode) / 1e6);
  std::printf("| decode (parse + FromProto, validated) | %.4f | %.0f |\n", Median(decode),
              bytes / Median(decode) / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  WeightSync(argc > 1 ? std::max(1, std::atoi(argv[1])) : 1);
  Wire();
}
