// The torch side of weight handling as the rollout and learner services see it. Torch-free.
#pragma once

#include <cstdint>
#include <string>

#include "common/weight_sync/group_options.h"

namespace rto {

// What a service needs from the torch side for weights: which broadcast group to use next, the
// hash of the current weights, and the last transfer's size, time and transport.
class WeightControl {
 public:
  virtual ~WeightControl() = default;
  virtual void SetGroup(const WeightGroupOptions& options) = 0;
  virtual uint64_t Hash() = 0;
  virtual int64_t last_bytes() = 0;
  virtual double last_seconds() = 0;
  virtual std::string last_transport() = 0;  // "shm", "gloo", "nccl" or "cuda_ipc"
  virtual int store_port() = 0;              // the learner's weight store (0 elsewhere)
};

}  // namespace rto
