// Every line a process writes to stderr leaves in one write(2). Container runtimes (conmon,
// Docker's json-file driver) and log collectors record each write as an entry; a line written in
// pieces (std::cerr is unbuffered and flushed after every <<) shows up in pieces, interleaved
// with other threads' lines and, under podman, out of order. Torch-free.
#pragma once

#include <cstdio>
#include <iostream>

namespace rto {

// REQUIRES: called first thing in main, before any other thread starts or anything is written
// to stderr. Afterwards stderr is line-buffered (a line without "\n" needs an fflush(stderr))
// and std::cerr no longer flushes after each <<; what is buffered is flushed at exit.
inline void WriteLogLinesWhole() {
  std::setvbuf(stderr, nullptr, _IOLBF, 1 << 16);
  std::cerr.unsetf(std::ios::unitbuf);
}

}  // namespace rto
