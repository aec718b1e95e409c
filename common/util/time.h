// Seconds of wall time, as every timing metric reports them.
#pragma once

#include <chrono>

namespace rto {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace rto
