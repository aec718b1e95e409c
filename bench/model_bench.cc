// Model-core throughput: forward (prefill) tokens/s, and decode tokens/s with and without
// the KV cache, for a small Llama (hidden 256, 4 layers, 8 heads / 4 kv heads, vocab 32k).
// Run through bench/run_model_bench.sh, which also prints the cached/uncached ratio.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <c10/core/GradMode.h>

#include "common/model/transformer.h"

namespace rto {
namespace {

constexpr int64_t kPromptTokens = 64;
constexpr int64_t kDecodeTokens = 32;

const Transformer& BenchModel() {
  static std::unique_ptr<Transformer> model = [] {
    ModelConfig c;
    c.vocab_size = 32000;
    c.hidden_size = 256;
    c.intermediate_size = 688;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 4;
    c.head_dim = 32;
    auto m = Transformer::Create(c, at::kFloat, at::kCPU);
    (*m)->InitRandom(0);
    return std::move(*m);
  }();
  return *model;
}

at::Tensor RandomIds(int64_t batch, int64_t len) { return at::randint(3, 32000, {batch, len}, at::kLong); }

void BM_Forward(benchmark::State& state) {
  const Transformer& model = BenchModel();
  c10::NoGradGuard no_grad;
  const int64_t batch = state.range(0), len = 128;
  at::Tensor ids = RandomIds(batch, len), mask = at::ones({batch, len}, at::kLong);
  for (auto _ : state) benchmark::DoNotOptimize(model.Logits(model.Forward(ids, mask)));
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(batch * len), benchmark::Counter::kIsIterationInvariantRate);
}

// kDecodeTokens greedy steps after a kPromptTokens prompt, one token per step through the cache.
void BM_DecodeCached(benchmark::State& state) {
  const Transformer& model = BenchModel();
  c10::NoGradGuard no_grad;
  const int64_t batch = state.range(0);
  at::Tensor prompt = RandomIds(batch, kPromptTokens), mask = at::ones({batch, kPromptTokens}, at::kLong);
  at::Tensor one = at::ones({batch, 1}, at::kLong);
  for (auto _ : state) {
    state.PauseTiming();
    KVCache cache = model.NewCache(batch, kPromptTokens + kDecodeTokens);
    at::Tensor next = model.Logits(model.Forward(prompt, mask, &cache).select(1, -1)).argmax(-1, true);
    state.ResumeTiming();
    for (int64_t t = 0; t < kDecodeTokens; ++t) {
      next = model.Logits(model.Forward(next, one, &cache).select(1, -1)).argmax(-1, true);
    }
    benchmark::DoNotOptimize(next);
  }
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(batch * kDecodeTokens), benchmark::Counter::kIsIterationInvariantRate);
}

// The same steps recomputing the whole sequence each time: what the cache saves.
void BM_DecodeUncached(benchmark::State& state) {
  const Transformer& model = BenchModel();
  c10::NoGradGuard no_grad;
  const int64_t batch = state.range(0);
  at::Tensor prompt = RandomIds(batch, kPromptTokens);
  for (auto _ : state) {
    at::Tensor seq = prompt;
    for (int64_t t = 0; t < kDecodeTokens; ++t) {
      at::Tensor mask = at::ones(seq.sizes(), at::kLong);
      at::Tensor next = model.Logits(model.Forward(seq, mask).select(1, -1)).argmax(-1, true);
      seq = at::cat({seq, next}, 1);
    }
    benchmark::DoNotOptimize(seq);
  }
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(batch * kDecodeTokens), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Forward)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeCached)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DecodeUncached)->Arg(1)->Arg(8)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rto

BENCHMARK_MAIN();
