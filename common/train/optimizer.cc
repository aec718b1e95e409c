#include "common/train/optimizer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace rto {

at::Tensor IeeeSqrt(const at::Tensor& x) {
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat) return x.sqrt();
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::empty_like(in);
  const float* src = in.const_data_ptr<float>();
  float* dst = out.mutable_data_ptr<float>();
  at::parallel_for(0, in.numel(), /*grain_size=*/1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = std::sqrt(src[i]);
  });
  return out;
}

AdamW::AdamW(std::vector<at::Tensor> params, std::vector<bool> decay, AdamWOptions options)
    : params_(std::move(params)), decay_(std::move(decay)), options_(options) {
  TORCH_CHECK(params_.size() == decay_.size(), "AdamW: one decay flag per parameter");
  for (const at::Tensor& p : params_) {
    exp_avg_.push_back(at::zeros_like(p, p.options().dtype(at::kFloat)));
    exp_avg_sq_.push_back(at::zeros_like(p, p.options().dtype(at::kFloat)));
  }
  owned_.assign(params_.size(), true);
}

void AdamW::Own(const std::vector<bool>& owned) {
  TORCH_CHECK(owned.size() == params_.size(), "AdamW: one ownership flag per parameter");
  owned_ = owned;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (owned_[i]) continue;
    exp_avg_[i] = at::Tensor();
    exp_avg_sq_[i] = at::Tensor();
  }
}

void AdamW::Step(double lr) {
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : params_) grads.push_back(p.grad());
  Step(lr, grads);
}

void AdamW::Step(double lr, const std::vector<at::Tensor>& grads) {
  c10::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1 - std::pow(options_.beta2, static_cast<double>(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!owned_[i] || !grads[i].defined()) continue;
    // Moments live in float32 whatever the parameter's dtype; the update is applied in float32.
    at::Tensor g = grads[i].to(at::kFloat);
    at::Tensor w = p.to(at::kFloat);
    if (decay_[i] && options_.weight_decay != 0) w.mul_(1 - lr * options_.weight_decay);
    exp_avg_[i].mul_(options_.beta1).add_(g, 1 - options_.beta1);
    exp_avg_sq_[i].mul_(options_.beta2).addcmul_(g, g, 1 - options_.beta2);
    at::Tensor denom = (IeeeSqrt(exp_avg_sq_[i]) / std::sqrt(bias2)).add_(options_.eps);
    w.addcdiv_(exp_avg_[i], denom, -lr / bias1);
    p.copy_(w);
  }
}

void AdamW::ZeroGrad() {
  for (at::Tensor& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::State() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!owned_[i]) continue;
    out.emplace_back(absl::StrCat("exp_avg.", i), exp_avg_[i]);
    out.emplace_back(absl::StrCat("exp_avg_sq.", i), exp_avg_sq_[i]);
  }
  return out;
}

absl::Status AdamW::LoadState(int64_t steps, const std::vector<std::pair<std::string, at::Tensor>>& state) {
  if (steps < 0) return absl::InvalidArgumentError("optimiser step count is negative");
  std::vector<size_t> owned;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (owned_[i]) owned.push_back(i);
  }
  if (state.size() != 2 * owned.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "optimiser state has ", state.size(), " tensors; the parameters this optimiser owns need ", 2 * owned.size()));
  }
  for (size_t k = 0; k < state.size(); ++k) {
    const size_t i = owned[k / 2];
    const auto& [name, t] = state[k];
    std::string expected = absl::StrCat(k % 2 == 0 ? "exp_avg." : "exp_avg_sq.", i);
    if (name != expected || !t.sizes().equals(params_[i].sizes())) {
      return absl::InvalidArgumentError(absl::StrCat("optimiser state '", name, "' does not fit parameter ", i,
                                                     " (expected '", expected, "' of shape ",
                                                     c10::str(params_[i].sizes()), ")"));
    }
  }
  c10::NoGradGuard no_grad;
  for (size_t k = 0; k < state.size(); ++k) (k % 2 == 0 ? exp_avg_ : exp_avg_sq_)[owned[k / 2]].copy_(state[k].second);
  steps_ = steps;
  return absl::OkStatus();
}

bool DefaultDecay(absl::string_view name) {
  return !absl::EndsWith(name, ".bias") && !absl::EndsWith(name, "norm.weight");
}

absl::StatusOr<ScheduleOptions::Kind> ParseScheduleKind(absl::string_view name) {
  if (name == "constant") return ScheduleOptions::Kind::kConstant;
  if (name == "linear") return ScheduleOptions::Kind::kLinear;
  if (name == "cosine") return ScheduleOptions::Kind::kCosine;
  return absl::InvalidArgumentError(absl::StrCat("schedule '", name, "' is not one of constant, linear, cosine"));
}

double LearningRate(const ScheduleOptions& s, int64_t step) {
  // As HF's schedulers (and so OpenRLHF's and TRL's): the first warmup step has learning rate 0.
  if (step < s.warmup_steps) return s.lr * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
  if (s.kind == ScheduleOptions::Kind::kConstant) return s.lr;
  const double span = static_cast<double>(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - s.warmup_steps) / span);
  const double shape =
      s.kind == ScheduleOptions::Kind::kLinear ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return s.lr * (s.min_lr_ratio + (1.0 - s.min_lr_ratio) * shape);
}

double GradNormSquared(const std::vector<at::Tensor>& params, const std::vector<bool>& include) {
  c10::NoGradGuard no_grad;
  double total_sq = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& g = params[i].grad();
    if (g.defined() && (include.empty() || include[i])) total_sq += g.to(at::kDouble).pow(2).sum().item<double>();
  }
  return total_sq;
}

void ClipGradsToNorm(const std::vector<at::Tensor>& params, double norm, double max_norm,
                     const std::vector<bool>& include) {
  c10::NoGradGuard no_grad;
  const double coef = max_norm / (norm + 1e-6);
  if (coef >= 1.0) return;
  for (size_t i = 0; i < params.size(); ++i) {
    const at::Tensor& g = params[i].grad();
    if (g.defined() && (include.empty() || include[i])) g.mul_(coef);
  }
}

double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm) {
  const double norm = std::sqrt(GradNormSquared(params));
  ClipGradsToNorm(params, norm, max_norm);
  return norm;
}

}  // namespace rto
