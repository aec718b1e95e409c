#include "common/actors/broadcast_weight_channel.h"

#include <ATen/ATen.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto {

absl::StatusOr<WeightSyncStats> BroadcastWeightChannel::Run(const Transformer& model, int64_t version,
                                                            const std::optional<WeightGroupOptions>& group) {
  if (!group) return absl::InvalidArgumentError("a weight broadcast needs its group (generation, rank, store)");
  std::vector<at::Tensor> parameters;
  for (const NamedParameter& p : model.parameters()) parameters.push_back(p.tensor);
  // Weights on a GPU go through NCCL or CUDA IPC; every rank decides from its own weights.
  WeightGroupOptions options = *group;
  options.cuda_device = !parameters.empty() && parameters[0].is_cuda() ? parameters[0].get_device() : -1;
  if (group_ == nullptr || group_->generation() != options.generation || group_->rank() != options.rank) {
    group_.reset();
    RTO_ASSIGN_OR_RETURN(group_, WeightGroup::Join(options, rendezvous_.get()));
    std::cerr << "weights: group generation " << options.generation << ", rank " << options.rank << " of "
              << options.world_size << ": " << group_->transport()
              << (group_->why_not_same_host().empty() ? "" : " (" + group_->why_not_same_host() + ")") << "\n";
  }
  absl::StatusOr<BroadcastStats> stats = group_->Broadcast(parameters, version);
  if (!stats.ok()) {
    group_.reset();  // a failed group is formed again next time
    return stats.status();
  }
  return WeightSyncStats{stats->version, stats->bytes, stats->seconds, stats->transport};
}

absl::StatusOr<WeightSyncStats> BroadcastWeightChannel::Publish(const Transformer& model, int64_t version,
                                                                const std::optional<WeightGroupOptions>& group) {
  if (group && group->rank != 0) return absl::InvalidArgumentError("the learner is rank 0 of the weight group");
  return Run(model, version, group);
}

absl::StatusOr<WeightSyncStats> BroadcastWeightChannel::Receive(Transformer& model, const WeightSync& sync) {
  RTO_ASSIGN_OR_RETURN(WeightSyncStats stats, Run(model, sync.version, sync.group));
  if (stats.version != sync.version) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected weights of version ", sync.version, " but the learner sent version ", stats.version));
  }
  return stats;
}

}  // namespace rto
