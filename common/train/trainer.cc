#include "common/train/trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/train/model_state.h"
#include "common/util/file.h"
#include "common/util/json_file.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

// The offline jobs' schedules span the run.
OptimizerOptions SpanningSteps(OptimizerOptions o, int64_t steps) {
  o.total_steps = steps;
  return o;
}

}  // namespace

absl::Status TrainOptions::Read(ConfigReader& c) {
  for (absl::Status s : {c.Read("train.steps", &steps), c.Read("train.micro_batch", &micro_batch),
                         c.Read("train.grad_accum", &grad_accum), c.Read("train.seed", &seed),
                         c.Read("checkpoint.every", &checkpoint_every), c.Read("checkpoint.keep", &keep_checkpoints)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  if (steps < 1 || micro_batch < 1 || grad_accum < 1 || checkpoint_every < 1 || keep_checkpoints < 1) {
    return absl::InvalidArgumentError(
        "train.steps, train.micro_batch, train.grad_accum, checkpoint.every and checkpoint.keep must be >= 1");
  }
  return optimizer.Read(c, "train");
}

Trainer::Trainer(Transformer& model, const TrainOptions& options, RunDirectory run, int64_t dataset_size,
                 std::string tokenizer_dir)
    : model_(model),
      options_(options),
      run_(std::move(run)),
      trainable_(model, SpanningSteps(options.optimizer, options.steps)),
      order_(dataset_size, static_cast<uint64_t>(options.seed)),
      checkpoints_(run_.checkpoints(), static_cast<int>(options.keep_checkpoints)),
      tokenizer_dir_(std::move(tokenizer_dir)) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(Transformer& model, const TrainOptions& options,
                                                         int64_t dataset_size, const std::string& out,
                                                         const std::string& resolved_config, bool resume,
                                                         const std::string& tokenizer_dir) {
  RTO_RETURN_IF_ERROR(ParseScheduleKind(options.optimizer.schedule).status());
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
  RTO_RETURN_IF_ERROR(trainable_.Save(dir, tokenizer_dir_));
  const DataOrder::State data = order_.state();
  json state = {{"step", step}, {"data_epoch", data.epoch}, {"data_position", data.position}};
  return WriteFileAtomically(dir + "/trainer_state.json", state.dump(2) + "\n");
}

absl::Status Trainer::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(trainable_.Restore(dir));
  const std::string path = dir + "/trainer_state.json";
  RTO_ASSIGN_OR_RETURN(json state, ReadJsonObject(path));
  RTO_ASSIGN_OR_RETURN(step_, JsonInt(state, path, "step"));
  RTO_ASSIGN_OR_RETURN(const int64_t epoch, JsonInt(state, path, "data_epoch"));
  RTO_ASSIGN_OR_RETURN(const int64_t position, JsonInt(state, path, "data_position"));
  return order_.Restore({epoch, position});
}

absl::Status Trainer::Run(const StepFunction& step_fn, const Metrics& extra_summary) {
  Metrics last;
  for (; step_ < options_.steps; ++step_) {
    const auto begin = std::chrono::steady_clock::now();
    std::vector<std::vector<int64_t>> micro;
    for (int64_t m = 0; m < options_.grad_accum; ++m) micro.push_back(order_.Next(options_.micro_batch));
    RTO_ASSIGN_OR_RETURN(Metrics metrics, step_fn(micro));
    RTO_RETURN_IF_ERROR(trainable_.Step(metrics));
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
