// The rollout role's actor: a copy of the policy that samples responses with the KV cache, each
// sample from its own random stream keyed by (step, prompt, sample), so that a sample does not
// depend on batching or on which worker draws it. Not thread-safe: one thread (its mailbox's).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/actors/roles.h"
#include "common/actors/rto_job.h"
#include "common/actors/weight_channel.h"
#include "common/model/transformer.h"

namespace rto {

class InProcessRollout : public Rollout {
 public:
  InProcessRollout(std::unique_ptr<Transformer> policy, std::shared_ptr<WeightSource> weights);
  absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) override;
  absl::Status GenerateStreaming(const RolloutRequest& request,
                                 const std::function<void(Trajectory)>& on_finished) override;
  absl::StatusOr<WeightSyncStats> SyncWeights(const WeightSync& sync) override;
  absl::StatusOr<WeightsFingerprint> Fingerprint() override { return rto::Fingerprint(*policy_, version_); }
  const Transformer& policy() const { return *policy_; }
  int64_t version() const { return version_; }

 private:
  std::unique_ptr<Transformer> policy_;
  std::shared_ptr<WeightSource> weights_;
  int64_t version_ = 0;
};

// The random stream of one sample: the same for (seed, step, prompt, sample) wherever it is drawn.
uint64_t SampleStream(int64_t step, int64_t prompt_id, int64_t sample_index);

// The rollout actor of a config, receiving its weights through `weights`.
absl::StatusOr<std::unique_ptr<InProcessRollout>> MakeRollout(const RtoJobConfig& config,
                                                              std::shared_ptr<WeightSource> weights);

}  // namespace rto
