// Seconds of wall time, as every timing metric reports them.
#pragma once

#include <chrono>
#include <cstdint>

namespace rto {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds since the Unix epoch (the wall clock), as TensorBoard events carry them.
inline double UnixSecondsNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A duration of the config, given in seconds, as milliseconds.
inline std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace rto
