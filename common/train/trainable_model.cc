#include "common/train/trainable_model.h"

#include <algorithm>
#include <random>

#include "common/train/model_state.h"
#include "common/util/file.h"
#include "common/util/hash.h"
#include "common/util/json_file.h"
#include "common/util/status_macros.h"

namespace rto {

TrainableModel::TrainableModel(std::unique_ptr<Transformer> model, const ActorTrainOptions& options)
    : model_(std::move(model)),
      options_(options),
      params_(TrainableParameters(*model_)),
      optimizer_(params_, DecayFlags(*model_), {.weight_decay = options.weight_decay}),
      // The config reader has checked the schedule's name.
      schedule_{.kind = ParseScheduleKind(options.schedule).value_or(ScheduleOptions::Kind::kConstant),
                .lr = options.lr,
                .warmup_steps = options.warmup_steps,
                .total_steps = options.total_optimizer_steps,
                .min_lr_ratio = options.min_lr_ratio} {}

void TrainableModel::Step(Metrics& metrics, const std::string& prefix) {
  const double lr = LearningRate(schedule_, optimizer_.steps());
  const double norm = ClipGradNorm(params_, options_.max_grad_norm);
  optimizer_.Step(lr);
  optimizer_.ZeroGrad();
  metrics[prefix + "lr"] = lr;
  metrics[prefix + "grad_norm"] = std::max(metrics[prefix + "grad_norm"], norm);  // the largest of the step
}

std::vector<std::vector<int64_t>> TrainableModel::MiniBatches(int64_t n, int64_t step) const {
  std::vector<std::vector<int64_t>> out;
  for (int64_t epoch = 0; epoch < options_.epochs; ++epoch) {
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(MixHash(MixHash(options_.seed, step), epoch));
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
    for (int64_t begin = 0; begin < n; begin += options_.mini_batch) {
      out.emplace_back(order.begin() + begin, order.begin() + std::min(n, begin + options_.mini_batch));
    }
  }
  return out;
}

absl::Status TrainableModel::Save(const std::string& dir, const std::string& tokenizer_dir) const {
  RTO_RETURN_IF_ERROR(SaveModelWithTokenizer(*model_, dir + "/model", tokenizer_dir));
  RTO_RETURN_IF_ERROR(SaveOptimizer(optimizer_, dir + "/optimizer.safetensors"));
  return WriteFileAtomically(dir + "/optimizer.json",
                             nlohmann::json{{"optimizer_steps", optimizer_.steps()}}.dump() + "\n");
}

absl::Status TrainableModel::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(RestoreWeights(*model_, dir + "/model"));
  const std::string path = dir + "/optimizer.json";
  RTO_ASSIGN_OR_RETURN(nlohmann::json state, ReadJsonObject(path));
  RTO_ASSIGN_OR_RETURN(int64_t steps, JsonInt(state, path, "optimizer_steps"));
  return RestoreOptimizer(optimizer_, dir + "/optimizer.safetensors", steps);
}

}  // namespace rto
