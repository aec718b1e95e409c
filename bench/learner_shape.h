// What the learner benchmarks share: Qwen2.5-0.5B's shape, the matrix-product FLOPs of a forward
// and backward pass over it, medians of timed runs, and the process's peak resident memory.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/model/config.h"

namespace rto::bench {

// Hidden 896, 24 layers, 14 / 2 heads, intermediate 4864, vocab 151936, tied embeddings, q/k/v
// biases: 494M parameters.
inline ModelConfig Qwen05B() {
  ModelConfig c;
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.tie_word_embeddings = true;
  c.qkv_bias = true;
  c.rope_theta = 1000000.0;
  return c;
}

// 2 FLOPs per multiply-add of every matrix product (the seven projections of each layer, the LM
// head, attention's QK^T and PV) over `batch` sequences of `seq` tokens, times 3 for forward plus
// backward (the backward pass does two products per forward product). Element-wise work is not
// counted, so it shows as lost efficiency.
inline double ForwardBackwardFlops(const ModelConfig& c, int64_t batch, int64_t seq) {
  const double q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const double per_layer = c.hidden_size * (q + 2 * kv) + q * c.hidden_size + 3.0 * c.hidden_size * c.intermediate_size;
  const double matmul_params = c.num_hidden_layers * per_layer + static_cast<double>(c.vocab_size) * c.hidden_size;
  const double attention = c.num_hidden_layers * 2.0 * 2.0 * batch * seq * seq * q;  // QK^T and PV
  return 3.0 * (2.0 * static_cast<double>(batch * seq) * matmul_params + attention);
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The median time of `repeats` calls of fn, after one warm-up call.
template <typename Fn>
double MedianSeconds(int repeats, Fn fn) {
  fn();
  std::vector<double> s;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return Median(s);
}

// Peak resident memory since the process started or the last ResetPeakMemory, in GiB (0 when
// /proc cannot tell).
inline double PeakMemoryGiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / (1024.0 * 1024.0);
  }
  return 0;
}
inline void ResetPeakMemory() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace rto::bench
