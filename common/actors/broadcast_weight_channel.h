// The weight channel across processes: WeightPublisher / WeightSource over a c10d broadcast group
// (common/weight_sync). Each transfer names its group (generation, rank, the learner's store);
// the group is formed again whenever that changes, and after a failed transfer. Not thread-safe:
// one actor's thread.
#pragma once

#include <memory>

#include "common/actors/weight_channel.h"
#include "common/weight_sync/weight_sync.h"

namespace rto {

class BroadcastWeightChannel : public WeightPublisher, public WeightSource {
 public:
  // The learner passes the rendezvous store it hosts; rollout workers pass null.
  explicit BroadcastWeightChannel(std::unique_ptr<Rendezvous> rendezvous = nullptr)
      : rendezvous_(std::move(rendezvous)) {}
  absl::StatusOr<WeightSyncStats> Publish(const Transformer& model, int64_t version,
                                          const std::optional<WeightGroupOptions>& group) override;
  absl::StatusOr<WeightSyncStats> Receive(Transformer& model, const WeightSync& sync) override;
  // The learner's rendezvous port (0 on a rollout worker).
  int rendezvous_port() const { return rendezvous_ ? rendezvous_->port() : 0; }

 private:
  absl::StatusOr<WeightSyncStats> Run(const Transformer& model, int64_t version,
                                      const std::optional<WeightGroupOptions>& group);
  std::unique_ptr<Rendezvous> rendezvous_;
  std::unique_ptr<WeightGroup> group_;
};

}  // namespace rto
