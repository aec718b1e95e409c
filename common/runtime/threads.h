// The thread plan of a process: how many threads its tensor work may use. PyTorch's LibTorch
// runs one operator on an OpenMP pool (intra-op threads, also MKL's) and independent operators
// on a second pool (inter-op). A pool wider than the cores this process gets only spins against
// the other processes on the machine: five processes of `rto launch` on two cores, each with a
// pool as wide as the machine, ran a step 20x slower than with one thread each.
//
// Every rto process applies a plan once at start, before any tensor work; `threads.intra_op: 0`
// (the default) means this process's share of the cores: all of them for a one-process job, the
// cores divided among the processes that `rto launch` starts on one machine.
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace rto {

class ConfigReader;

struct ThreadPlan {
  int64_t intra_op = 0;  // 0: AvailableCores() / processes
  int64_t inter_op = 1;  // rto runs no independent operators concurrently within a process
};

// The cores this process may run on: its CPU affinity mask, capped by a cgroup CPU quota (a
// container's --cpus or a Kubernetes CPU limit), at least 1.
int AvailableCores();

// `cores` divided among `processes` that compute at the same time, at least 1 each.
int CoresPerProcess(int cores, int processes);

// Reads threads.intra_op (>= 0) and threads.inter_op (>= 1) of a job config.
absl::Status ReadThreadPlan(ConfigReader& config, ThreadPlan* plan);

// Sets LibTorch's intra-op (OpenMP, MKL) and inter-op thread counts; intra_op 0 resolves to
// CoresPerProcess(AvailableCores(), processes). Call once per process, before any tensor work.
// Returns the intra-op thread count in use.
int ApplyThreadPlan(const ThreadPlan& plan, int processes = 1);

}  // namespace rto
