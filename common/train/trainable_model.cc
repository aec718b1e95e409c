#include "common/train/trainable_model.h"

#include <algorithm>

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

TrainableModel::TrainableModel(Transformer& model, const OptimizerOptions& options)
    : model_(model),
      options_(options),
      params_(TrainableParameters(model)),
      optimizer_(params_, DecayFlags(model), {.weight_decay = options.weight_decay}),
      schedule_{.kind = ParseScheduleKind(options.schedule).value_or(ScheduleOptions::Kind::kConstant),
                .lr = options.lr,
                .warmup_steps = options.warmup_steps,
                .total_steps = options.total_steps,
                .min_lr_ratio = options.min_lr_ratio} {
  model_.SetActivationCheckpointing(options.activation_checkpointing);
}

void TrainableModel::Step(Metrics& metrics, const std::string& prefix) {
  const double lr = LearningRate(schedule_, optimizer_.steps());
  const double norm = ClipGradNorm(params_, options_.max_grad_norm);
  optimizer_.Step(lr);
  optimizer_.ZeroGrad();
  metrics[prefix + "lr"] = lr;
  const auto previous = metrics.find(prefix + "grad_norm");
  metrics[prefix + "grad_norm"] = previous == metrics.end() ? norm : std::max(previous->second, norm);
}

absl::Status TrainableModel::Save(const std::string& dir, const std::string& tokenizer_dir) const {
  RTO_RETURN_IF_ERROR(SaveModelWithTokenizer(model_, dir + "/model", tokenizer_dir));
  RTO_RETURN_IF_ERROR(SaveOptimizer(optimizer_, dir + "/optimizer.safetensors"));
  return WriteFileAtomically(dir + "/optimizer.json",
                             nlohmann::json{{"optimizer_steps", optimizer_.steps()}}.dump() + "\n");
}

absl::Status TrainableModel::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(RestoreWeights(model_, dir + "/model"));
  const std::string path = dir + "/optimizer.json";
  RTO_ASSIGN_OR_RETURN(nlohmann::json state, ReadJsonObject(path));
  RTO_ASSIGN_OR_RETURN(int64_t steps, JsonInt(state, path, "optimizer_steps"));
  return RestoreOptimizer(optimizer_, dir + "/optimizer.safetensors", steps);
}

}  // namespace rto
