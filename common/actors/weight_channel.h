// The weight channel between the learner and the rollouts, and its in-process implementation.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/actors/roles.h"
#include "common/model/transformer.h"

namespace rto {

// How the learner's weights reach the rollouts. The learner publishes; each rollout receives,
// blocking until the version it expects is sent (as a receiver of a broadcast does).
class WeightPublisher {
 public:
  virtual ~WeightPublisher() = default;
  virtual absl::StatusOr<WeightSyncStats> Publish(const Transformer& model, int64_t version,
                                                  const std::optional<WeightGroupOptions>& group) = 0;
};
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // REQUIRES: the model has the publisher's parameters (checked).
  virtual absl::StatusOr<WeightSyncStats> Receive(Transformer& model, const WeightSync& sync) = 0;
};

// The channel within one process: a copy of the published weights; groups play no part.
// Thread-safe.
class InProcessWeightChannel : public WeightPublisher, public WeightSource {
 public:
  explicit InProcessWeightChannel(std::chrono::milliseconds timeout = std::chrono::seconds(60)) : timeout_(timeout) {}
  absl::StatusOr<WeightSyncStats> Publish(const Transformer& model, int64_t version,
                                          const std::optional<WeightGroupOptions>& group) override;
  // Waits up to the timeout for `sync.version` to be published.
  absl::StatusOr<WeightSyncStats> Receive(Transformer& model, const WeightSync& sync) override;

 private:
  std::chrono::milliseconds timeout_;
  absl::Mutex mu_;
  std::vector<at::Tensor> weights_ ABSL_GUARDED_BY(mu_);
  int64_t version_ ABSL_GUARDED_BY(mu_) = -1;
};

// The fingerprint of a model's weights (FNV-1a over every parameter's bytes, in order).
WeightsFingerprint Fingerprint(const Transformer& model, int64_t version);

}  // namespace rto
