#include "common/train/losses.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace rto {

at::Tensor SftLoss(const at::Tensor& token_logprobs, const at::Tensor& loss_mask) {
  at::Tensor mask = loss_mask.to(token_logprobs.scalar_type());
  return -(token_logprobs * mask).sum() / mask.sum().clamp_min(1);
}

at::Tensor SequenceLogProb(const at::Tensor& token_logprobs, const at::Tensor& loss_mask) {
  return (token_logprobs * loss_mask.to(token_logprobs.scalar_type())).sum(-1);
}

at::Tensor BradleyTerryLoss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores) {
  return -at::log_sigmoid(chosen_scores - rejected_scores).mean();
}

absl::StatusOr<DpoOptions::Loss> ParseDpoLoss(absl::string_view name) {
  if (name == "sigmoid") return DpoOptions::Loss::kSigmoid;
  if (name == "ipo") return DpoOptions::Loss::kIpo;
  return absl::InvalidArgumentError(absl::StrCat("DPO loss '", name, "' is not one of sigmoid, ipo"));
}

DpoOutput DpoLoss(const at::Tensor& policy_chosen, const at::Tensor& policy_rejected,
                  const at::Tensor& reference_chosen, const at::Tensor& reference_rejected, const DpoOptions& o) {
  at::Tensor chosen_ratio = policy_chosen - reference_chosen.detach();
  at::Tensor rejected_ratio = policy_rejected - reference_rejected.detach();
  at::Tensor h = chosen_ratio - rejected_ratio;
  at::Tensor losses;
  if (o.loss == DpoOptions::Loss::kIpo) {
    losses = (h - 1.0 / (2.0 * o.beta)).pow(2);
  } else {
    losses =
        -at::log_sigmoid(o.beta * h) * (1.0 - o.label_smoothing) - at::log_sigmoid(-o.beta * h) * o.label_smoothing;
  }
  return {losses.mean(), (o.beta * chosen_ratio).detach(), (o.beta * rejected_ratio).detach()};
}

}  // namespace rto
