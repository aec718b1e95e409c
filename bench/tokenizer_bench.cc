// Tokenizer encode throughput on a realistic vocabulary: the 32k-token byte-level BPE of
// tests/fixtures/tokenizers/big (trained by HF tokenizers) over its 1.2 MB corpus.
#include <benchmark/benchmark.h>

#include "common/tokenizer/tokenizer.h"
#include "common/util/file.h"

namespace rto {
namespace {

const std::string kDir = std::string(RTO_SOURCE_DIR) + "/tests/fixtures/tokenizers/big";

void BM_EncodeCorpus(benchmark::State& state) {
  auto tok = LoadTokenizer(kDir);
  auto corpus = ReadFileToString(kDir + "/corpus.txt");
  if (!tok.ok() || !corpus.ok()) {
    state.SkipWithError("fixture missing");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize((*tok)->Encode(*corpus, {.add_special_tokens = false}));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus->size()));
}

// Encoding from a cold word cache: a fresh tokenizer every iteration.
void BM_EncodeCorpusColdCache(benchmark::State& state) {
  auto corpus = ReadFileToString(kDir + "/corpus.txt");
  for (auto _ : state) {
    state.PauseTiming();
    auto tok = LoadTokenizer(kDir);
    state.ResumeTiming();
    benchmark::DoNotOptimize((*tok)->Encode(*corpus, {.add_special_tokens = false}));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * corpus->size()));
}

BENCHMARK(BM_EncodeCorpus)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EncodeCorpusColdCache)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rto

BENCHMARK_MAIN();
