// The optimisation core shared by every training job (SFT, RM, DPO, the PPO learner and critic):
// AdamW exactly as PyTorch's (decoupled weight decay, bias correction), learning-rate schedules
// as HF's (constant, linear or cosine after a linear warmup), and global gradient-norm clipping.
// Not thread-safe: an optimiser belongs to its model's actor.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  // `decay[i]` says whether params[i] gets weight decay (by convention not norms and biases).
  // REQUIRES: params and decay have the same size; params are leaf tensors.
  AdamW(std::vector<at::Tensor> params, std::vector<bool> decay, AdamWOptions options);

  // One update with learning rate `lr` from the gradients in params[i].grad(); parameters
  // without a gradient are left alone (their moments too).
  void Step(double lr);
  // The same from gradients given apart, grads[i] for params[i] (undefined: none), of any
  // floating dtype: each is taken to float32 in turn, so a bf16 model's gradients update fp32
  // master weights without an fp32 copy of them all. REQUIRES: grads.size() == params.size().
  void Step(double lr, const std::vector<at::Tensor>& grads);
  void ZeroGrad();
  int64_t steps() const { return steps_; }

  // Keeps moments for, and updates, only the parameters i with owned[i] (ZeRO stage 1: the
  // others are another data-parallel rank's); the other moments are freed. REQUIRES: one flag per
  // parameter; called before any step or LoadState.
  void Own(const std::vector<bool>& owned);

  // The moments of the owned parameters, for checkpoints: "exp_avg.i" and "exp_avg_sq.i" per
  // parameter index i (indices are the same whoever owns them, so a checkpoint's shards load
  // into any other sharding).
  std::vector<std::pair<std::string, at::Tensor>> State() const;
  absl::Status LoadState(int64_t steps, const std::vector<std::pair<std::string, at::Tensor>>& state);

 private:
  std::vector<at::Tensor> params_;
  std::vector<bool> decay_;
  AdamWOptions options_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;  // undefined for parameters not owned
  std::vector<bool> owned_;
  int64_t steps_ = 0;
};

// Parameters that conventionally get no weight decay: norms and biases.
bool DefaultDecay(absl::string_view parameter_name);

struct ScheduleOptions {
  enum class Kind { kConstant, kLinear, kCosine };
  Kind kind = Kind::kConstant;
  double lr = 1e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.0;  // linear and cosine decay to lr * min_lr_ratio
};
absl::StatusOr<ScheduleOptions::Kind> ParseScheduleKind(absl::string_view name);  // "constant", "linear", "cosine"

// The learning rate of optimiser step `step` (0-based), as HF's get_scheduler computes it:
// linear warmup from 0 over warmup_steps, then the schedule's decay, reaching lr * min_lr_ratio
// at total_steps (HF's cosine_with_min_lr; min_lr_ratio 0 is plain linear / cosine).
double LearningRate(const ScheduleOptions& s, int64_t step);

// Elementwise sqrt rounded as IEEE 754 says, the same on every CPU; AdamW's denominator. ATen's
// CPU sqrt calls MKL's vector math (VML), whose float sqrt is not the same everywhere: on an AMD
// EPYC with AVX-512 it differs from an emulated Intel Haswell's in the last bit of some elements,
// whatever MKL_CBWR says, and a run then learns other weights on another machine. On CUDA, or
// for other dtypes, it is at::sqrt.
at::Tensor IeeeSqrt(const at::Tensor& x);

// Scales all gradients together so that their global L2 norm is at most max_norm (as
// torch.nn.utils.clip_grad_norm_) and returns the norm before clipping.
double ClipGradNorm(const std::vector<at::Tensor>& params, double max_norm);
// Its two halves, over the parameters i with include[i] (all when include is empty): the sum of
// the squared gradients (in float64), and the scaling of the gradients by max_norm / (norm +
// 1e-6) when that is below 1. A data-parallel rank computes its part of the norm and clips only
// the gradients it updates.
double GradNormSquared(const std::vector<at::Tensor>& params, const std::vector<bool>& include = {});
void ClipGradsToNorm(const std::vector<at::Tensor>& params, double norm, double max_norm,
                     const std::vector<bool>& include = {});

}  // namespace rto
