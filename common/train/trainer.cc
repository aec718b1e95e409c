#include "common/train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/train/model_state.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

}  // namespace

absl::Status TrainOptions::Read(ConfigReader& c) {
  for (absl::Status s : {c.Read("train.steps", &steps), c.Read("train.micro_batch", &micro_batch),
                         c.Read("train.grad_accum", &grad_accum), c.Read("train.lr", &lr),
                         c.Read("train.schedule", &schedule), c.Read("train.warmup_steps", &warmup_steps),
                         c.Read("train.min_lr_ratio", &min_lr_ratio), c.Read("train.weight_decay", &weight_decay),
                         c.Read("train.max_grad_norm", &max_grad_norm), c.Read("train.seed", &seed),
                         c.Read("checkpoint.every", &checkpoint_every), c.Read("checkpoint.keep", &keep_checkpoints)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  if (steps < 1 || micro_batch < 1 || grad_accum < 1 || checkpoint_every < 1 || keep_checkpoints < 1) {
    return absl::InvalidArgumentError(
        "train.steps, train.micro_batch, train.grad_accum, checkpoint.every and checkpoint.keep must be >= 1");
  }
  return ParseScheduleKind(schedule).status();
}

Trainer::Trainer(Transformer& model, const TrainOptions& options, RunDirectory run, int64_t dataset_size,
                 std::string tokenizer_dir)
    : model_(model),
      options_(options),
      run_(std::move(run)),
      params_(TrainableParameters(model)),
      optimizer_(params_, DecayFlags(model), {.weight_decay = options.weight_decay}),
      schedule_{.kind = *ParseScheduleKind(options.schedule),
                .lr = options.lr,
                .warmup_steps = options.warmup_steps,
                .total_steps = options.steps,
                .min_lr_ratio = options.min_lr_ratio},
      order_(dataset_size, static_cast<uint64_t>(options.seed)),
      checkpoints_(run_.checkpoints(), static_cast<int>(options.keep_checkpoints)),
      tokenizer_dir_(std::move(tokenizer_dir)) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(Transformer& model, const TrainOptions& options,
                                                         int64_t dataset_size, const std::string& out,
                                                         const std::string& resolved_config, bool resume,
                                                         const std::string& tokenizer_dir) {
  RTO_RETURN_IF_ERROR(ParseScheduleKind(options.schedule).status());
  if (dataset_size < 1) return absl::InvalidArgumentError("the dataset is empty");
  RTO_ASSIGN_OR_RETURN(RunDirectory run, RunDirectory::Open(out, resolved_config, resume));
  std::unique_ptr<Trainer> t(new Trainer(model, options, std::move(run), dataset_size, tokenizer_dir));
  if (resume) {
    RTO_ASSIGN_OR_RETURN(const bool restored,
                         t->checkpoints_.RestoreLatest([&](const std::string& dir) { return t->Restore(dir); }));
    if (restored) RTO_RETURN_IF_ERROR(t->run_.ForgetStepsFrom(t->step_));
  }
  return t;
}

absl::Status Trainer::Save(const std::string& dir, int64_t step) const {
  RTO_RETURN_IF_ERROR(SaveModelWithTokenizer(model_, dir + "/model", tokenizer_dir_));
  RTO_RETURN_IF_ERROR(SaveOptimizer(optimizer_, dir + "/optimizer.safetensors"));
  const DataOrder::State data = order_.state();
  json state = {{"step", step},
                {"optimizer_steps", optimizer_.steps()},
                {"data_epoch", data.epoch},
                {"data_position", data.position}};
  return WriteFileAtomically(dir + "/trainer_state.json", state.dump(2) + "\n");
}

absl::Status Trainer::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(RestoreWeights(model_, dir + "/model"));
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(dir + "/trainer_state.json"));
  json state = json::parse(text, nullptr, false);
  for (const char* key : {"step", "optimizer_steps", "data_epoch", "data_position"}) {
    if (!state.is_object() || !state.contains(key) || !state[key].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(dir, "/trainer_state.json: missing integer '", key, "'"));
    }
  }
  RTO_RETURN_IF_ERROR(
      RestoreOptimizer(optimizer_, dir + "/optimizer.safetensors", state["optimizer_steps"].get<int64_t>()));
  RTO_RETURN_IF_ERROR(order_.Restore({state["data_epoch"].get<int64_t>(), state["data_position"].get<int64_t>()}));
  step_ = state["step"].get<int64_t>();
  return absl::OkStatus();
}

absl::Status Trainer::Run(const StepFunction& step_fn, const Metrics& extra_summary) {
  Metrics last;
  for (; step_ < options_.steps; ++step_) {
    const auto begin = std::chrono::steady_clock::now();
    std::vector<std::vector<int64_t>> micro;
    for (int64_t m = 0; m < options_.grad_accum; ++m) micro.push_back(order_.Next(options_.micro_batch));
    RTO_ASSIGN_OR_RETURN(Metrics metrics, step_fn(micro));
    metrics["grad_norm"] = ClipGradNorm(params_, options_.max_grad_norm);
    metrics["lr"] = LearningRate(schedule_, step_);
    optimizer_.Step(metrics["lr"]);
    optimizer_.ZeroGrad();
    const double seconds = SecondsSince(begin);
    if (metrics.count("tokens")) metrics["tokens_per_s"] = metrics["tokens"] / seconds;
    metrics["step_seconds"] = seconds;
    RTO_RETURN_IF_ERROR(run_.LogStep(step_, options_.steps, metrics));
    last = metrics;
    const int64_t done = step_ + 1;
    if (done % options_.checkpoint_every == 0 || done == options_.steps) {
      RTO_RETURN_IF_ERROR(checkpoints_.Save(done, [&](const std::string& dir) { return Save(dir, done); }));
    }
  }
  RTO_RETURN_IF_ERROR(SaveModelWithTokenizer(model_, run_.dir() + "/final", tokenizer_dir_));
  Metrics summary = extra_summary;
  for (const auto& [k, v] : last) summary["final_" + k] = v;
  summary["steps"] = static_cast<double>(options_.steps);
  return run_.WriteSummary(summary);
}

}  // namespace rto
