// How a batch is split over replicas or data-parallel ranks: contiguous shares, the first ones
// one item longer when the count does not divide.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

namespace rto {

// [begin, end) of share i when n items are split into `parts` contiguous shares.
inline std::pair<size_t, size_t> Share(size_t n, size_t parts, size_t i) {
  const size_t base = n / parts, extra = n % parts;
  const size_t begin = i * base + std::min(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

}  // namespace rto
