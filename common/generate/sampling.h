// What a sampler needs to know, kept free of torch so that role interfaces and wire code can
// carry it.
#pragma once

#include <cstdint>
#include <vector>

namespace rto {

struct SamplingParams {
  double temperature = 1.0;  // 0 is greedy
  int64_t top_k = 0;         // 0 keeps all tokens
  double top_p = 1.0;        // nucleus: keep the smallest set of tokens with mass >= top_p
  int64_t max_new_tokens = 64;
  std::vector<int64_t> stop_token_ids;  // generation ends after emitting one of these
  uint64_t seed = 0;
};

}  // namespace rto
