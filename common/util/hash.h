// A 64-bit mixing step (splitmix-style) for keying random streams by several integers.
#pragma once

#include <cstdint>

namespace rto {

inline uint64_t MixHash(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

}  // namespace rto
