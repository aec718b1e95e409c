// The data-parallel learner's training step at Qwen2.5-0.5B's shape (bench/learner_shape.h), as
// one of RANKS processes (bench/data_parallel.sh starts them): each rank runs the forward and
// backward pass of its share of a global batch (the policy loss's token log-probs), then
// TrainableModel::Step: the gradients summed over the ranks (Gloo, in buckets), AdamW on the
// parameters whose moments this rank holds (ZeRO-1), the owners' broadcast of the updated
// weights. One rank is the same step without a group.
//
// Before the model exists every rank measures its float32 matmul peak at the shapes the model
// multiplies, all ranks at once, so that their sum is what the machine gives that many processes.
// Rank 0 prints one table row: the median step time, its compute and synchronisation parts, the
// whole batch's tokens/s and achieved GFLOP/s (the matrix products' FLOPs), their share of the
// summed matmul peak, and the largest peak resident memory of any rank.
//
//   data_parallel_bench RANK RANKS PORT [batch (4)] [sequence length (128)] [repeats (3)]
//                       [precision fp32|bf16 (fp32)]
#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "bench/learner_shape.h"
#include "common/model/transformer.h"
#include "common/train/data_parallel.h"
#include "common/train/trainable_model.h"

namespace {

using rto::bench::ForwardBackwardFlops;
using rto::bench::Median;
using rto::bench::MedianSeconds;
using Clock = std::chrono::steady_clock;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "data_parallel_bench: %s: %s\n", what.c_str(), std::string(status.message()).c_str());
  return 1;
}

// The best GFLOP/s of float32 products into preallocated outputs at the model's shapes.
double MatmulPeak(const rto::ModelConfig& c, int64_t tokens, int repeats) {
  const std::vector<std::array<int64_t, 3>> shapes = {{tokens, c.hidden_size, c.intermediate_size},
                                                      {tokens, c.intermediate_size, c.hidden_size},
                                                      {tokens, c.hidden_size, c.vocab_size}};
  double peak = 0;
  for (const auto& [m, k, n] : shapes) {
    at::Tensor a = at::randn({m, k}), b = at::randn({k, n}), out = at::empty({m, n});
    peak = std::max(peak, 2.0 * m * k * n / MedianSeconds(repeats, [&] { at::mm_out(out, a, b); }) / 1e9);
  }
  return peak;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: data_parallel_bench RANK RANKS PORT [batch] [seq] [repeats] [fp32|bf16]\n");
    return 2;
  }
  const int rank = std::atoi(argv[1]), ranks = std::atoi(argv[2]), port = std::atoi(argv[3]);
  const int64_t batch = argc > 4 ? std::atoll(argv[4]) : 4, seq = argc > 5 ? std::atoll(argv[5]) : 128;
  const int repeats = argc > 6 ? std::atoi(argv[6]) : 3;
  auto precision = rto::ParsePrecision(argc > 7 ? argv[7] : "fp32");
  if (!precision.ok()) return Fail("precision", precision.status());

  std::unique_ptr<rto::Rendezvous> rendezvous;
  std::unique_ptr<rto::DataParallelGroup> group;
  if (ranks > 1) {
    const std::chrono::minutes timeout(10);
    if (rank == 0) {
      auto started = rto::Rendezvous::Start("127.0.0.1", port, timeout);
      if (!started.ok()) return Fail("rendezvous", started.status());
      rendezvous = std::move(*started);
    }
    auto joined = rto::DataParallelGroup::Join(
        {.name = "bench", .port = port, .rank = rank, .world_size = ranks, .timeout = timeout}, rendezvous.get());
    if (!joined.ok()) return Fail("join", joined.status());
    group = std::move(*joined);
  }
  const rto::ModelConfig c = rto::bench::Qwen05B();
  auto peaks = rto::SumOverRanks(group.get(), {MatmulPeak(c, batch * seq / ranks, repeats)});
  if (!peaks.ok()) return Fail("matmul peak", peaks.status());

  auto model = rto::Transformer::Create(c, at::kFloat, at::kCPU);
  if (!model.ok()) return Fail("model", model.status());
  (*model)->InitRandom(0);
  rto::TrainableModel trainable(**model, {.lr = 1e-5, .total_steps = 1000}, *precision);
  trainable.SetDataParallel(group.get());

  at::manual_seed(0);  // the same global batch on every rank
  const at::Tensor ids = at::randint(0, c.vocab_size, {batch, seq}, at::kLong);
  std::vector<int64_t> all(batch);
  std::iota(all.begin(), all.end(), 0);
  const std::vector<int64_t> mine = rto::RankShare(all, rank, ranks);
  const at::Tensor rows = ids.index_select(0, at::tensor(mine, at::kLong));
  const at::Tensor mask = at::ones_like(rows), targets = rows.narrow(1, 1, seq - 1);
  const double global_tokens = static_cast<double>(batch * (seq - 1));

  std::vector<double> compute, sync;
  const double step = MedianSeconds(repeats, [&] {
    const auto start = Clock::now();
    if (!mine.empty()) {
      rto::Transformer& m = trainable.model();
      at::Tensor logprobs = m.TokenLogProbs(m.Forward(rows, mask).narrow(1, 0, seq - 1), targets);
      (-logprobs.sum() / global_tokens).backward();
    }
    const auto computed = Clock::now();
    rto::Metrics metrics;
    if (absl::Status s = trainable.Step(metrics); !s.ok()) std::exit(Fail("step", s));
    compute.push_back(std::chrono::duration<double>(computed - start).count());
    sync.push_back(std::chrono::duration<double>(Clock::now() - computed).count());
  });
  auto memory = rto::MaxOverRanks(group.get(), {rto::bench::PeakMemoryGiB()});
  if (!memory.ok()) return Fail("peak memory", memory.status());
  if (rank != 0) return 0;
  const double gflops = ForwardBackwardFlops(c, batch, seq) / step / 1e9;
  std::printf("| %d | %s | %.2f | %.2f | %.2f | %.0f | %.1f | %.1f | %.0f%% | %.2f |\n", ranks,
              argc > 7 ? argv[7] : "fp32", step, Median(compute), Median(sync), batch * seq / step, gflops, (*peaks)[0],
              100 * gflops / (*peaks)[0], (*memory)[0]);
  return 0;
}
