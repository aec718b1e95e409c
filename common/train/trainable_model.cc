#include "common/train/trainable_model.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/train/model_state.h"
#include "common/util/file.h"
#include "common/util/json_file.h"
#include "common/util/status_macros.h"

namespace rto {

absl::Status OptimizerOptions::Read(ConfigReader& c, const std::string& prefix) {
  for (absl::Status s :
       {c.Read(prefix + ".lr", &lr), c.Read(prefix + ".schedule", &schedule),
        c.Read(prefix + ".warmup_steps", &warmup_steps), c.Read(prefix + ".min_lr_ratio", &min_lr_ratio),
        c.Read(prefix + ".weight_decay", &weight_decay), c.Read(prefix + ".max_grad_norm", &max_grad_norm),
        c.Read(prefix + ".activation_checkpointing", &activation_checkpointing)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  return ParseScheduleKind(schedule).status();
}

absl::StatusOr<Precision> ParsePrecision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  return absl::InvalidArgumentError(absl::StrCat("precision '", name, "': expected fp32 or bf16"));
}

namespace {

// A copy of `model` in `dtype` on its device, for mixed precision. REQUIRES: float32 master weights.
std::unique_ptr<Transformer> CopyIn(const Transformer& model, at::ScalarType dtype) {
  TORCH_CHECK(model.dtype() == at::kFloat, "mixed precision needs float32 master weights");
  std::unique_ptr<Transformer> copy = *Transformer::Create(model.config(), dtype, model.device());
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < model.parameters().size(); ++i) {
    copy->parameters()[i].tensor.copy_(model.parameters()[i].tensor);
  }
  return copy;
}

}  // namespace

TrainableModel::TrainableModel(Transformer& model, const OptimizerOptions& options, Precision precision)
    : master_(model),
      compute_(precision == Precision::kBf16 ? CopyIn(model, at::kBFloat16) : nullptr),
      options_(options),
      params_(TrainableParameters(model)),
      optimizer_(params_, DecayFlags(model), {.weight_decay = options.weight_decay}),
      schedule_{.kind = ParseScheduleKind(options.schedule).value_or(ScheduleOptions::Kind::kConstant),
                .lr = options.lr,
                .warmup_steps = options.warmup_steps,
                .total_steps = options.total_steps,
                .min_lr_ratio = options.min_lr_ratio} {
  if (compute_) compute_params_ = TrainableParameters(*compute_);
  this->model().SetActivationCheckpointing(options.activation_checkpointing);
}

TrainableModel::~TrainableModel() = default;

void TrainableModel::SetDataParallel(DataParallelGroup* group) {
  data_parallel_ = group;
  owners_.clear();
  owned_.clear();
  if (group == nullptr || group->world_size() == 1) {
    optimizer_.Own(std::vector<bool>(params_.size(), true));
    return;
  }
  owners_ = OptimizerOwners(params_, group->world_size());
  for (int owner : owners_) owned_.push_back(owner == group->rank());
  optimizer_.Own(owned_);
}

absl::StatusOr<double> TrainableModel::ClipGradients(const std::vector<at::Tensor>& params) {
  if (owned_.empty()) return ClipGradNorm(params, options_.max_grad_norm);
  RTO_ASSIGN_OR_RETURN(std::vector<double> squares, data_parallel_->SumOverRanks({GradNormSquared(params, owned_)}));
  const double norm = std::sqrt(squares[0]);
  ClipGradsToNorm(params, norm, options_.max_grad_norm, owned_);
  return norm;
}

absl::Status TrainableModel::Step(Metrics& metrics, const std::string& prefix) {
  const std::vector<at::Tensor>& computing = compute_ ? compute_params_ : params_;
  if (data_parallel_ != nullptr) RTO_RETURN_IF_ERROR(data_parallel_->AllReduceGradients(computing));
  RTO_ASSIGN_OR_RETURN(const double norm, ClipGradients(computing));
  const double lr = LearningRate(schedule_, optimizer_.steps());
  if (compute_) {
    // The bf16 gradients update the fp32 masters one parameter at a time: no fp32 gradients
    // of the whole model exist, so mixed precision holds 16 bytes per parameter, as fp32 does.
    std::vector<at::Tensor> grads;
    for (const at::Tensor& p : compute_params_) grads.push_back(p.grad());
    optimizer_.Step(lr, grads);
    for (at::Tensor& p : compute_params_) p.mutable_grad().reset();
  } else {
    optimizer_.Step(lr);
    optimizer_.ZeroGrad();
  }
  if (!owners_.empty()) RTO_RETURN_IF_ERROR(data_parallel_->BroadcastFromOwners(params_, owners_));
  if (compute_) CopyMasterIntoCompute();
  metrics[prefix + "lr"] = lr;
  const auto previous = metrics.find(prefix + "grad_norm");
  metrics[prefix + "grad_norm"] = previous == metrics.end() ? norm : std::max(previous->second, norm);
  return absl::OkStatus();
}

void TrainableModel::CopyMasterIntoCompute() {
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < compute_params_.size(); ++i) compute_params_[i].copy_(params_[i]);
}

namespace {

std::string OptimizerShard(const std::string& dir, int rank, int shards) {
  return shards == 1 ? dir + "/optimizer.safetensors"
                     : absl::StrCat(dir, "/optimizer-", rank, "-of-", shards, ".safetensors");
}

}  // namespace

absl::Status TrainableModel::Save(const std::string& dir, const std::string& tokenizer_dir) const {
  const int rank = data_parallel_ ? data_parallel_->rank() : 0;
  const int shards = data_parallel_ ? data_parallel_->world_size() : 1;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  RTO_RETURN_IF_ERROR(SaveOptimizer(optimizer_, OptimizerShard(dir, rank, shards)));
  if (rank != 0) return absl::OkStatus();
  RTO_RETURN_IF_ERROR(SaveModelWithTokenizer(master_, dir + "/model", tokenizer_dir));
  return WriteFileAtomically(
      dir + "/optimizer.json",
      nlohmann::json{{"optimizer_steps", optimizer_.steps()}, {"optimizer_shards", shards}}.dump() + "\n");
}

absl::Status TrainableModel::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(RestoreWeights(master_, dir + "/model"));
  if (compute_) CopyMasterIntoCompute();
  const std::string path = dir + "/optimizer.json";
  RTO_ASSIGN_OR_RETURN(nlohmann::json state, ReadJsonObject(path));
  RTO_ASSIGN_OR_RETURN(int64_t steps, JsonInt(state, path, "optimizer_steps"));
  int64_t shards = 1;  // checkpoints from before sharding have no count
  if (state.contains("optimizer_shards")) {
    RTO_ASSIGN_OR_RETURN(shards, JsonInt(state, path, "optimizer_shards"));
  }
  if (shards < 1 || shards > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": optimizer_shards ", shards, " is not a shard count"));
  }
  std::vector<std::string> paths;
  for (int r = 0; r < shards; ++r) paths.push_back(OptimizerShard(dir, r, static_cast<int>(shards)));
  return RestoreOptimizer(optimizer_, paths, steps);
}

}  // namespace rto
