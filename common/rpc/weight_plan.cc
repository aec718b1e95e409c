#include "common/rpc/weight_plan.h"

namespace rto {

void WeightPlan::Reform(int world_size) {
  std::lock_guard<std::mutex> lock(mu_);
  base_.world_size = world_size;
  ++base_.generation;
}

void WeightPlan::set_store_port(int port) {
  std::lock_guard<std::mutex> lock(mu_);
  base_.store_port = port;
}

WeightGroupOptions WeightPlan::For(int rank) const {
  std::lock_guard<std::mutex> lock(mu_);
  WeightGroupOptions o = base_;
  o.rank = rank;
  return o;
}

}  // namespace rto
