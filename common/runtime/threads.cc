#include "common/runtime/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include "common/config/config.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

// A cgroup v2 quota ("cpu.max": "<quota> <period>" or "max <period>") or v1's
// cpu.cfs_quota_us / cpu.cfs_period_us, as a number of cores; 0 when unlimited or unknown.
double CgroupCpuLimit() {
  std::ifstream v2("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (v2 >> quota >> period) return quota == "max" || period <= 0 ? 0 : std::stod(quota) / period;
  std::ifstream q("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota_us = 0, period_us = 0;
  if (q >> quota_us && p >> period_us && quota_us > 0 && period_us > 0) return quota_us / period_us;
  return 0;
}

}  // namespace

int AvailableCores() {
  cpu_set_t set;
  int cores = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (cores < 1) cores = 1;
  const double limit = CgroupCpuLimit();
  if (limit > 0) cores = std::min(cores, std::max(1, static_cast<int>(std::ceil(limit))));
  return cores;
}

int CoresPerProcess(int cores, int processes) { return std::max(1, cores / std::max(1, processes)); }

absl::Status ReadThreadPlan(ConfigReader& config, ThreadPlan* plan) {
  RTO_RETURN_IF_ERROR(config.Read("threads.intra_op", &plan->intra_op));
  RTO_RETURN_IF_ERROR(config.Read("threads.inter_op", &plan->inter_op));
  if (plan->intra_op < 0 || plan->inter_op < 1) {
    return absl::InvalidArgumentError(
        "threads.intra_op must be >= 0 (0: this process's share of the cores) and threads.inter_op >= 1");
  }
  return absl::OkStatus();
}

int ApplyThreadPlan(const ThreadPlan& plan, int processes) {
  const int intra = plan.intra_op > 0 ? static_cast<int>(plan.intra_op) : CoresPerProcess(AvailableCores(), processes);
  at::set_num_threads(intra);
  // LibTorch refuses a second setting, or one after the inter-op pool has started: the first
  // plan of the process stands.
  try {
    at::set_num_interop_threads(static_cast<int>(plan.inter_op));
  } catch (const std::exception&) {
  }
  return at::get_num_threads();
}

}  // namespace rto
