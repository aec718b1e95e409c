// The weight broadcast group as the coordinator plans it, handed to the rollout and learner
// clients. Torch-free.
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/weight_sync/group_options.h"

namespace rto {

// The weight broadcast group as the control plane sees it: the learner's store, the current
// generation and its size (learner + rollout workers). Thread-safe.
class WeightPlan {
 public:
  explicit WeightPlan(WeightGroupOptions base) : base_(std::move(base)) {}
  // A new generation of `world_size` ranks (after membership changed).
  void Reform(int world_size);
  void set_store_port(int port);
  void set_store_host(const std::string& host);
  WeightGroupOptions For(int rank) const;

 private:
  mutable absl::Mutex mu_;
  WeightGroupOptions base_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rto
