// The weight channel across processes: WeightPublisher / WeightSource over a c10d broadcast
// group (common/weight_sync). The control plane says which group generation and rank to use
// (SetGroup); the group is formed again whenever that changes.
#pragma once

#include <memory>

#include "common/actors/weight_channel.h"
#include "common/weight_sync/weight_sync.h"

namespace rto {

class GroupWeights : public WeightPublisher, public WeightSource {
 public:
  // The learner passes the store server it hosts; rollout workers pass null.
  explicit GroupWeights(std::unique_ptr<WeightStoreServer> server = nullptr) : server_(std::move(server)) {}
  void SetGroup(const WeightGroupOptions& options) { options_ = options; }
  absl::Status Publish(const Transformer& model, int64_t version) override;
  absl::Status Receive(Transformer& model, int64_t version) override;
  const BroadcastStats& last() const { return last_; }
  int store_port() const { return server_ ? server_->port() : 0; }

 private:
  absl::StatusOr<BroadcastStats> Run(const Transformer& model, int64_t version);
  std::unique_ptr<WeightStoreServer> server_;
  WeightGroupOptions options_;
  std::unique_ptr<WeightGroup> group_;
  BroadcastStats last_;
};

// HashTensors of a model's parameters.
uint64_t HashWeights(const Transformer& model);

}  // namespace rto
