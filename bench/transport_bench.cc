// The data plane's costs, medians of 5 runs side by side in one process:
//   - weight broadcast over Gloo on loopback (learner rank 0 -> one rollout rank, real TCP), for
//     10 MB, 100 MB and 1 GB of float32 weights in 32 MB buckets, against a plain memcpy of the
//     same bytes as the ceiling;
//   - the wire: encoding and decoding a batch of trajectories (protobuf with packed tensors).
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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

void WeightSync() {
  auto server = rto::WeightStoreServer::Start("127.0.0.1", 0, std::chrono::seconds(60));
  if (!server.ok()) {
    std::printf("weight store: %s\n", std::string(server.status().message()).c_str());
    return;
  }
  std::printf("| weights | gloo broadcast s | gloo GB/s | memcpy s | memcpy GB/s | gloo / memcpy time |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  int64_t generation = 0;
  for (int64_t mb : {10, 100, 1000}) {
    // Tensors of a few MB each, like a model's layers.
    const int64_t bytes = mb * 1000 * 1000, per_tensor = 4 << 20;
    std::vector<at::Tensor> sent, received;
    for (int64_t left = bytes; left > 0; left -= per_tensor) {
      sent.push_back(at::randn({std::min(left, per_tensor) / 4}));
      received.push_back(at::zeros_like(sent.back()));
    }
    std::vector<double> gloo, copy;
    for (int rep = 0; rep < 5; ++rep) {
      rto::WeightGroupOptions o{.store_port = (*server)->port(), .world_size = 2, .generation = generation++};
      double seconds = 0;
      std::thread receiver([&] {
        rto::WeightGroupOptions r = o;
        r.rank = 1;
        auto group = rto::WeightGroup::Join(r);
        if (group.ok()) (void)(*group)->Broadcast(received, rep);
      });
      auto group = rto::WeightGroup::Join(o, server->get());
      if (!group.ok()) break;
      // Both ranks have joined once the first (tiny) collective of Broadcast returns; the time
      // includes the header round and every bucket.
      const auto start = Clock::now();
      auto stats = (*group)->Broadcast(sent, rep);
      receiver.join();
      seconds = Seconds(start);
      if (!stats.ok()) {
        std::printf("broadcast failed: %s\n", std::string(stats.status().message()).c_str());
        return;
      }
      gloo.push_back(seconds);
      const auto c = Clock::now();
      for (size_t i = 0; i < sent.size(); ++i) {
        std::memcpy(received[i].data_ptr(), sent[i].data_ptr(), sent[i].numel() * 4);
      }
      copy.push_back(Seconds(c));
    }
    if (!at::equal(sent.back(), received.back())) std::printf("MISMATCH\n");
    const double g = Median(gloo), m = Median(copy);
    std::printf("| %ld MB | %.4f | %.2f | %.4f | %.2f | %.1fx |\n", mb, g, bytes / g / 1e9, m, bytes / m / 1e9, g / m);
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

int main() {
  WeightSync();
  Wire();
}
