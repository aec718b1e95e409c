#include "common/train/sft_job.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/data/batching.h"
#include "common/data/dataset.h"
#include "common/model/checkpoint.h"
#include "common/safetensors/safetensors.h"
#include "common/tokenizer/tokenizer.h"
#include "common/train/checkpoint_manager.h"
#include "common/train/losses.h"
#include "common/train/optimizer.h"
#include "common/train/run_dir.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

namespace fs = std::filesystem;
namespace st = rto::safetensors;
using nlohmann::json;

absl::Status ReadTrain(ConfigReader& c, TrainOptions* t) {
  for (absl::Status s :
       {c.Read("train.steps", &t->steps), c.Read("train.micro_batch", &t->micro_batch),
        c.Read("train.grad_accum", &t->grad_accum), c.Read("train.lr", &t->lr), c.Read("train.schedule", &t->schedule),
        c.Read("train.warmup_steps", &t->warmup_steps), c.Read("train.min_lr_ratio", &t->min_lr_ratio),
        c.Read("train.weight_decay", &t->weight_decay), c.Read("train.max_grad_norm", &t->max_grad_norm),
        c.Read("train.seed", &t->seed), c.Read("checkpoint.every", &t->checkpoint_every),
        c.Read("checkpoint.keep", &t->keep_checkpoints)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  if (t->steps < 1 || t->micro_batch < 1 || t->grad_accum < 1 || t->checkpoint_every < 1 || t->keep_checkpoints < 1) {
    return absl::InvalidArgumentError(
        "train.steps, train.micro_batch, train.grad_accum, checkpoint.every and checkpoint.keep must be >= 1");
  }
  return ParseScheduleKind(t->schedule).status();
}

// One SFT example: prompt then response tokens, and where the response starts.
struct Example {
  std::vector<int64_t> ids;
  int64_t response_start;
};

// A right-padded batch with next-token targets and the mask of response targets.
struct Batch {
  at::Tensor ids, mask, targets, loss_mask;
  int64_t response_tokens;
};

Batch MakeBatch(const std::vector<Example>& examples, const std::vector<int64_t>& rows, int64_t pad_id) {
  std::vector<std::vector<int64_t>> seqs;
  for (int64_t r : rows) seqs.push_back(examples[r].ids);
  PaddedBatch p = Pad(seqs, pad_id, PadSide::kRight);
  Batch b;
  b.ids = at::tensor(p.ids, at::kLong).view({p.rows, p.cols});
  b.mask = at::tensor(p.mask, at::kLong).view({p.rows, p.cols});
  b.targets = b.ids.narrow(1, 1, p.cols - 1);
  std::vector<int64_t> loss(p.rows * (p.cols - 1), 0);
  b.response_tokens = 0;
  for (int64_t i = 0; i < p.rows; ++i) {
    const Example& e = examples[rows[i]];
    for (int64_t t = e.response_start; t < static_cast<int64_t>(e.ids.size()); ++t) {
      loss[i * (p.cols - 1) + t - 1] = 1;  // position t - 1 predicts token t
      ++b.response_tokens;
    }
  }
  b.loss_mask = at::tensor(loss, at::kLong).view({p.rows, p.cols - 1});
  return b;
}

absl::Status SaveState(const std::string& dir, const Transformer& model, const AdamW& opt, int64_t step,
                       const DataOrder::State& data, const std::string& tokenizer_dir) {
  RTO_RETURN_IF_ERROR(SaveModel(model, dir + "/model"));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}) {
    std::error_code ec;
    if (fs::exists(fs::path(tokenizer_dir) / name, ec))
      fs::copy_file(fs::path(tokenizer_dir) / name, fs::path(dir) / "model" / name, ec);
  }
  std::vector<st::TensorView> views;
  std::vector<at::Tensor> keep;
  for (const auto& [name, t] : opt.State()) {
    keep.push_back(t.detach().to(at::kCPU).contiguous());
    views.push_back({name, st::DType::kF32, keep.back().sizes().vec(), keep.back().data_ptr()});
  }
  RTO_RETURN_IF_ERROR(st::Write(dir + "/optimizer.safetensors", views));
  json state = {
      {"step", step}, {"optimizer_steps", opt.steps()}, {"data_epoch", data.epoch}, {"data_position", data.position}};
  return WriteFileAtomically(dir + "/trainer_state.json", state.dump(2) + "\n");
}

absl::Status LoadState(const std::string& dir, Transformer& model, AdamW& opt, int64_t* step, DataOrder* order) {
  RTO_ASSIGN_OR_RETURN(auto saved, LoadModel(dir + "/model", {.dtype = model.dtype()}));
  {
    c10::NoGradGuard no_grad;
    for (size_t i = 0; i < model.parameters().size(); ++i)
      model.parameters()[i].tensor.copy_(saved->parameters()[i].tensor);
  }
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(dir + "/trainer_state.json"));
  json state = json::parse(text, nullptr, false);
  if (!state.is_object() || !state.contains("step") || !state.contains("optimizer_steps") ||
      !state.contains("data_epoch") || !state.contains("data_position")) {
    return absl::InvalidArgumentError(absl::StrCat(dir, "/trainer_state.json: missing step or data position"));
  }
  RTO_ASSIGN_OR_RETURN(auto file, st::File::Open(dir + "/optimizer.safetensors"));
  std::vector<std::pair<std::string, at::Tensor>> moments;
  for (const auto& [name, t] : opt.State()) {
    const st::TensorInfo* info = file->Find(name);
    if (info == nullptr || info->dtype != st::DType::kF32 || !t.sizes().equals(info->shape)) {
      return absl::InvalidArgumentError(absl::StrCat(file->path(), ": '", name, "' is missing or has the wrong shape"));
    }
    at::Tensor copy = at::empty(info->shape, at::kFloat);
    std::memcpy(copy.data_ptr(), file->Data(*info), info->num_bytes());
    moments.emplace_back(name, copy);
  }
  RTO_RETURN_IF_ERROR(opt.LoadState(state["optimizer_steps"].get<int64_t>(), moments));
  RTO_RETURN_IF_ERROR(order->Restore({state["data_epoch"].get<int64_t>(), state["data_position"].get<int64_t>()}));
  *step = state["step"].get<int64_t>();
  return absl::OkStatus();
}

}  // namespace

absl::Status SftJobConfig::Read(ConfigReader& c) {
  for (absl::Status s :
       {c.Read("model", &model), c.Read("data", &data), c.Read("out", &out), c.Read("chat_template", &chat_template),
        c.Read("max_prompt_tokens", &max_prompt_tokens), c.Read("max_response_tokens", &max_response_tokens)}) {
    RTO_RETURN_IF_ERROR(s);
  }
  RTO_RETURN_IF_ERROR(ReadTrain(c, &train));
  for (const auto& [key, value] : {std::pair{"model", &model}, std::pair{"data", &data}, std::pair{"out", &out}}) {
    if (value->empty()) return absl::InvalidArgumentError(absl::StrCat("config key '", key, "' is required"));
  }
  return c.CheckNoUnknownKeys();
}

absl::Status RunSft(const SftJobConfig& cfg, const std::string& resolved_config, bool resume) {
  const TrainOptions& t = cfg.train;
  RTO_ASSIGN_OR_RETURN(RunDirectory run, RunDirectory::Open(cfg.out, resolved_config, resume));
  RTO_ASSIGN_OR_RETURN(auto model, LoadModel(cfg.model, {.dtype = at::kFloat}));
  RTO_ASSIGN_OR_RETURN(auto tokenizer, LoadTokenizer(cfg.model));
  TextEncoderOptions text{.max_prompt_tokens = cfg.max_prompt_tokens, .max_response_tokens = cfg.max_response_tokens};
  if (cfg.chat_template.empty()) {
    RTO_ASSIGN_OR_RETURN(text.chat_template, DetectChatTemplate(tokenizer->chat_template()));
  } else {
    RTO_ASSIGN_OR_RETURN(text.chat_template, ParseChatTemplateName(cfg.chat_template));
  }
  ReadReport report;
  RTO_ASSIGN_OR_RETURN(std::vector<SftRow> rows, ReadSft(cfg.data, {}, &report));
  TextEncoder encoder(*tokenizer, text);
  std::vector<Example> examples;
  for (const SftRow& row : rows) {
    RTO_ASSIGN_OR_RETURN(std::vector<int64_t> prompt, encoder.Prompt(row.prompt));
    std::vector<int64_t> response = encoder.Response(row.response);
    Example e{prompt, static_cast<int64_t>(prompt.size())};
    e.ids.insert(e.ids.end(), response.begin(), response.end());
    examples.push_back(std::move(e));
  }
  const int64_t pad_id = tokenizer->special_tokens().pad_id.value_or(tokenizer->special_tokens().eos_id.value_or(0));

  std::vector<at::Tensor> params;
  std::vector<bool> decay;
  for (const NamedParameter& p : model->parameters()) {
    p.tensor.set_requires_grad(true);
    params.push_back(p.tensor);
    decay.push_back(DefaultDecay(p.name));
  }
  AdamW opt(params, decay, {.weight_decay = t.weight_decay});
  ScheduleOptions schedule{.kind = *ParseScheduleKind(t.schedule),
                           .lr = t.lr,
                           .warmup_steps = t.warmup_steps,
                           .total_steps = t.steps,
                           .min_lr_ratio = t.min_lr_ratio};
  DataOrder order(static_cast<int64_t>(examples.size()), static_cast<uint64_t>(t.seed));
  CheckpointManager checkpoints(run.checkpoints(), static_cast<int>(t.keep_checkpoints));
  int64_t start_step = 0;
  if (resume) {
    RTO_ASSIGN_OR_RETURN(std::optional<CheckpointRef> latest, checkpoints.Latest());
    if (latest) RTO_RETURN_IF_ERROR(LoadState(latest->dir, *model, opt, &start_step, &order));
  }

  double last_loss = 0;
  for (int64_t step = start_step; step < t.steps; ++step) {
    const auto begin = std::chrono::steady_clock::now();
    std::vector<Batch> micro;
    int64_t tokens = 0;
    for (int64_t m = 0; m < t.grad_accum; ++m) {
      micro.push_back(MakeBatch(examples, order.Next(t.micro_batch), pad_id));
      tokens += micro.back().response_tokens;
    }
    // The loss is the mean over every response token of the global batch, however it is split.
    double loss_sum = 0;
    for (const Batch& b : micro) {
      at::Tensor hidden = model->Forward(b.ids, b.mask);
      at::Tensor lp = model->TokenLogProbs(hidden.narrow(1, 0, b.ids.size(1) - 1), b.targets);
      at::Tensor loss =
          -(lp * b.loss_mask.to(lp.scalar_type())).sum() / static_cast<double>(std::max<int64_t>(1, tokens));
      loss.backward();
      loss_sum += loss.item<double>();
    }
    const double grad_norm = ClipGradNorm(params, t.max_grad_norm);
    const double lr = LearningRate(schedule, step);
    opt.Step(lr);
    opt.ZeroGrad();
    last_loss = loss_sum;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    RTO_RETURN_IF_ERROR(run.LogStep(step, t.steps,
                                    {{"loss", loss_sum},
                                     {"lr", lr},
                                     {"grad_norm", grad_norm},
                                     {"response_tokens", static_cast<double>(tokens)},
                                     {"tokens_per_s", static_cast<double>(tokens) / seconds}}));
    if ((step + 1) % t.checkpoint_every == 0 || step + 1 == t.steps) {
      RTO_RETURN_IF_ERROR(checkpoints.Save(step + 1, [&](const std::string& dir) {
        return SaveState(dir, *model, opt, step + 1, order.state(), cfg.model);
      }));
    }
  }
  RTO_RETURN_IF_ERROR(SaveModel(*model, cfg.out + "/final"));
  return run.WriteSummary({{"final_loss", last_loss},
                           {"steps", static_cast<double>(t.steps)},
                           {"prompts_truncated", static_cast<double>(encoder.prompts_truncated())},
                           {"responses_truncated", static_cast<double>(encoder.responses_truncated())},
                           {"rows", static_cast<double>(examples.size())}});
}

}  // namespace rto
