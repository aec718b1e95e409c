#include "common/actors/weight_channel.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "absl/strings/str_cat.h"

namespace rto {

absl::Status WeightStore::Publish(const Transformer& model, int64_t version) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> copy;
  for (const NamedParameter& p : model.parameters()) copy.push_back(p.tensor.detach().clone());
  {
    std::lock_guard<std::mutex> lock(mu_);
    weights_ = std::move(copy);
    version_ = version;
  }
  published_.notify_all();
  return absl::OkStatus();
}

absl::Status WeightStore::Receive(Transformer& model, int64_t version) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!published_.wait_for(lock, timeout_, [&] { return version_ >= version; })) {
    return absl::DeadlineExceededError(absl::StrCat("weights of version ", version, " were not published within ",
                                                    timeout_.count(), " ms (latest: ", version_, ")"));
  }
  if (version_ != version) {
    return absl::FailedPreconditionError(
        absl::StrCat("weights of version ", version, " were asked for, but version ", version_, " is published"));
  }
  if (model.parameters().size() != weights_.size()) {
    return absl::InvalidArgumentError("the published weights do not match the rollout's model");
  }
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const at::Tensor& to = model.parameters()[i].tensor;
    if (!to.sizes().equals(weights_[i].sizes())) {
      return absl::InvalidArgumentError(
          absl::StrCat("published weight '", model.parameters()[i].name, "' has the wrong shape"));
    }
    to.copy_(weights_[i]);
  }
  return absl::OkStatus();
}

}  // namespace rto
