#include "common/actors/group_weights.h"

#include <ATen/ATen.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace rto {
namespace {

std::vector<at::Tensor> Parameters(const Transformer& model) {
  std::vector<at::Tensor> out;
  for (const NamedParameter& p : model.parameters()) out.push_back(p.tensor);
  return out;
}

}  // namespace

absl::StatusOr<BroadcastStats> GroupWeights::Run(const Transformer& model, int64_t version) {
  // Weights on a GPU go through NCCL; every rank decides from its own weights.
  const std::vector<at::Tensor> parameters = Parameters(model);
  options_.cuda_device = !parameters.empty() && parameters[0].is_cuda() ? parameters[0].get_device() : -1;
  if (group_ == nullptr || group_->generation() != options_.generation || group_->rank() != options_.rank) {
    group_.reset();
    RTO_ASSIGN_OR_RETURN(group_, WeightGroup::Join(options_, server_.get()));
    std::cerr << "weights: group generation " << options_.generation << ", rank " << options_.rank << " of "
              << options_.world_size << ": " << group_->transport()
              << (group_->why_not_same_host().empty() ? "" : " (" + group_->why_not_same_host() + ")") << "\n";
  }
  absl::StatusOr<BroadcastStats> stats = group_->Broadcast(parameters, version);
  if (!stats.ok()) group_.reset();  // a failed group is formed again next time
  return stats;
}

absl::Status GroupWeights::Publish(const Transformer& model, int64_t version) {
  RTO_ASSIGN_OR_RETURN(last_, Run(model, version));
  return absl::OkStatus();
}

absl::Status GroupWeights::Receive(Transformer& model, int64_t version) {
  RTO_ASSIGN_OR_RETURN(last_, Run(model, version));
  if (last_.version != version) {
    return absl::FailedPreconditionError(
        absl::StrCat("expected weights of version ", version, " but the learner sent version ", last_.version));
  }
  return absl::OkStatus();
}

uint64_t HashWeights(const Transformer& model) { return HashTensors(Parameters(model)); }

}  // namespace rto
