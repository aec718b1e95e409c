#include "common/rpc/weight_plan.h"

namespace rto {

void WeightPlan::Reform(int world_size) {
  absl::MutexLock lock(&mu_);
  base_.world_size = world_size;
  ++base_.generation;
}

void WeightPlan::set_store_port(int port) {
  absl::MutexLock lock(&mu_);
  base_.store_port = port;
}

void WeightPlan::set_store_host(const std::string& host) {
  absl::MutexLock lock(&mu_);
  base_.store_host = host;
}

WeightGroupOptions WeightPlan::For(int rank) const {
  absl::MutexLock lock(&mu_);
  WeightGroupOptions o = base_;
  o.rank = rank;
  return o;
}

}  // namespace rto
