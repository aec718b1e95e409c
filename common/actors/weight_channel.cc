#include "common/actors/weight_channel.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "absl/strings/str_cat.h"
#include "common/util/time.h"
#include "common/weight_sync/weight_sync.h"

namespace rto {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Bytes(const std::vector<at::Tensor>& tensors) {
  int64_t n = 0;
  for (const at::Tensor& t : tensors) n += t.numel() * t.element_size();
  return n;
}

}  // namespace

absl::StatusOr<WeightSyncStats> InProcessWeightChannel::Publish(const Transformer& model, int64_t version,
                                                                const std::optional<WeightGroupOptions>&) {
  const auto start = Clock::now();
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> copy;
  for (const NamedParameter& p : model.parameters()) copy.push_back(p.tensor.detach().clone());
  const int64_t bytes = Bytes(copy);
  absl::MutexLock lock(&mu_);
  weights_ = std::move(copy);
  version_ = version;
  return WeightSyncStats{version, bytes, SecondsSince(start), "memory"};
}

absl::StatusOr<WeightSyncStats> InProcessWeightChannel::Receive(Transformer& model, const WeightSync& sync) {
  const auto start = Clock::now();
  const int64_t version = sync.version;
  absl::MutexLock lock(&mu_);
  const auto published = [this, version]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return version_ >= version; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&published), absl::FromChrono(timeout_))) {
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
  return WeightSyncStats{version, Bytes(weights_), SecondsSince(start), "memory"};
}

WeightsFingerprint Fingerprint(const Transformer& model, int64_t version) {
  std::vector<at::Tensor> parameters;
  for (const NamedParameter& p : model.parameters()) parameters.push_back(p.tensor);
  return {version, HashTensors(parameters)};
}

}  // namespace rto
