// The weight channel between the learner and the rollouts, and its in-process implementation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "common/model/transformer.h"

namespace rto {

// How the learner's weights reach the rollouts. The learner publishes; each rollout receives,
// blocking until the version it expects is sent (as a receiver of a broadcast does). In one
// process that is WeightStore; across processes GroupWeights (group_weights.h), a c10d
// broadcast (common/weight_sync).
class WeightPublisher {
 public:
  virtual ~WeightPublisher() = default;
  virtual absl::Status Publish(const Transformer& model, int64_t version) = 0;
};
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // REQUIRES: the model has the publisher's parameters (checked).
  virtual absl::Status Receive(Transformer& model, int64_t version) = 0;
};

// The in-process channel: a copy of the published weights. Thread-safe.
class WeightStore : public WeightPublisher, public WeightSource {
 public:
  explicit WeightStore(std::chrono::milliseconds timeout = std::chrono::seconds(60)) : timeout_(timeout) {}
  absl::Status Publish(const Transformer& model, int64_t version) override;
  // Waits up to the timeout for `version` to be published.
  absl::Status Receive(Transformer& model, int64_t version) override;

 private:
  std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable published_;
  std::vector<at::Tensor> weights_;
  int64_t version_ = -1;
};

}  // namespace rto
