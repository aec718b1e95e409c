#include "common/actors/rto_job.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/data/dataset.h"
#include "common/model/checkpoint.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

absl::StatusOr<std::vector<PromptItem>> ReadPromptItems(const std::string& path, TextEncoder& encoder, int64_t limit) {
  RTO_ASSIGN_OR_RETURN(std::vector<PromptRow> rows, ReadPrompts(path, {}));
  std::vector<PromptItem> out;
  for (const PromptRow& row : rows) {
    if (limit > 0 && static_cast<int64_t>(out.size()) == limit) break;
    absl::StatusOr<std::vector<int64_t>> ids = encoder.Prompt(row.prompt);
    if (!ids.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ":", row.line, ": ", ids.status().message()));
    json original;
    if (row.prompt.size() == 1 && row.prompt[0].role == "user") {
      original = row.prompt[0].content;  // so that `rto eval` can match the prompt
    } else {
      for (const ChatMessage& m : row.prompt) original.push_back({{"role", m.role}, {"content", m.content}});
    }
    out.push_back({std::move(*ids), original.dump()});
  }
  return out;
}

}  // namespace

namespace {

absl::Status ReadAll(std::initializer_list<absl::Status> reads) {
  for (const absl::Status& s : reads) RTO_RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

// The models, the data and where the run goes.
absl::Status ReadRunKeys(ConfigReader& c, RtoJobConfig& j) {
  RTO_RETURN_IF_ERROR(
      ReadAll({c.Read("models.policy", &j.models.policy), c.Read("models.reference", &j.models.reference),
               c.Read("models.dpo", &j.models.dpo), c.Read("models.dpo_reference", &j.models.dpo_reference),
               c.Read("models.reward", &j.models.reward), c.Read("models.critic", &j.models.critic),
               c.Read("prompts", &j.prompts), c.Read("eval_prompts", &j.eval_prompts), c.Read("out", &j.out),
               c.Read("chat_template", &j.chat_template), c.Read("max_prompt_tokens", &j.max_prompt_tokens),
               c.Read("device", &j.device), c.Read("dtype", &j.dtype), c.Read("frozen.dtype", &j.frozen.dtype),
               c.Read("frozen.map_weights", &j.frozen.map_weights), c.Read("seed", &j.seed)}));
  RTO_RETURN_IF_ERROR(ParseScalarType(j.dtype).status());
  if (j.frozen.dtype != "stored") {
    absl::Status s = ParseScalarType(j.frozen.dtype).status();
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("'frozen.dtype': ", s.message(), ", or stored"));
  }
  RTO_RETURN_IF_ERROR(RequireKeys({{"models.policy", &j.models.policy},
                                   {"models.reward", &j.models.reward},
                                   {"prompts", &j.prompts},
                                   {"out", &j.out}}));
  return absl::OkStatus();
}

// The coordinator's loop: sampling, rewards, KL, advantages, evaluation and checkpoints.
absl::Status ReadLoopKeys(ConfigReader& c, RtoJobConfig& j) {
  CoordinatorOptions& k = j.coordinator;
  double eval_temperature = 1.0;
  int64_t eval_max_new_tokens = 64;
  bool normalize = false;
  RTO_RETURN_IF_ERROR(ReadAll({c.Read("steps", &k.steps),
                               c.Read("rollout.prompts_per_step", &k.prompts_per_step),
                               c.Read("rollout.samples_per_prompt", &k.samples_per_prompt),
                               c.Read("rollout.max_new_tokens", &k.sampling.max_new_tokens),
                               c.Read("rollout.temperature", &k.sampling.temperature),
                               c.Read("rollout.top_k", &k.sampling.top_k),
                               c.Read("rollout.top_p", &k.sampling.top_p),
                               c.Read("rollout.max_staleness", &k.max_staleness),
                               c.Read("reward.dpo_reward_scale", &k.reward.dpo_reward_scale),
                               c.Read("reward.dpo_reward_clip", &k.reward.dpo_reward_clip),
                               c.Read("reward.dpo_reward_scale_end", &k.dpo_reward_scale_end),
                               c.Read("reward.reward_clip", &k.reward.reward_clip),
                               c.Read("reward.normalize", &normalize),
                               c.Read("kl.coef", &k.kl_coef),
                               c.Read("kl.target", &k.kl_target),
                               c.Read("kl.horizon", &k.kl_horizon),
                               c.Read("advantage.estimator", &j.estimator),
                               c.Read("advantage.gamma", &k.gamma),
                               c.Read("advantage.lambda", &k.lambda),
                               c.Read("advantage.whiten", &k.whiten_advantages),
                               c.Read("eval.every", &k.eval_every),
                               c.Read("eval.max_prompts", &j.max_eval_prompts),
                               c.Read("eval.temperature", &eval_temperature),
                               c.Read("eval.max_new_tokens", &eval_max_new_tokens),
                               c.Read("checkpoint.every", &k.checkpoint_every),
                               c.Read("checkpoint.keep", &k.keep_checkpoints)}));
  if (k.reward.dpo_reward_scale != 0 && j.models.dpo.empty()) {
    return absl::InvalidArgumentError("reward.dpo_reward_scale is not 0, so models.dpo is required");
  }
  if (k.reward.dpo_reward_scale == 0 && k.dpo_reward_scale_end >= 0) {
    return absl::InvalidArgumentError(
        "reward.dpo_reward_scale_end schedules the DPO token reward, but reward.dpo_reward_scale is 0 (PPO); "
        "set dpo_reward_scale to the first step's value, or dpo_reward_scale_end to -1");
  }
  RTO_ASSIGN_OR_RETURN(k.estimator, ParseAdvantageEstimator(j.estimator));
  k.reward.normalize_reward = normalize;
  k.data_seed = static_cast<uint64_t>(j.seed);
  k.sampling.seed = static_cast<uint64_t>(j.seed);
  k.eval_sampling = k.sampling;
  k.eval_sampling.temperature = eval_temperature;
  k.eval_sampling.max_new_tokens = eval_max_new_tokens;
  return absl::OkStatus();
}

// PPO's epochs and batching, and each actor's optimiser (actor.*, critic.*).
absl::Status ReadTrainingKeys(ConfigReader& c, RtoJobConfig& j) {
  int64_t epochs = 1, mini_batch = 16, micro_batch = 16;
  RTO_RETURN_IF_ERROR(ReadAll({c.Read("ppo.epochs", &epochs), c.Read("ppo.mini_batch", &mini_batch),
                               c.Read("ppo.micro_batch", &micro_batch), c.Read("ppo.clip_eps", &j.clip_eps),
                               c.Read("ppo.value_clip", &j.value_clip)}));
  if (epochs < 1 || mini_batch < 1 || micro_batch < 1) {
    return absl::InvalidArgumentError("ppo.epochs, ppo.mini_batch and ppo.micro_batch must be >= 1");
  }
  for (auto [o, prefix] : {std::pair{&j.actor, "actor"}, std::pair{&j.critic, "critic"}}) {
    RTO_RETURN_IF_ERROR(o->optimizer.Read(c, prefix));
    std::string precision = "fp32";
    RTO_RETURN_IF_ERROR(c.Read(absl::StrCat(prefix, ".precision"), &precision));
    absl::StatusOr<Precision> p = ParsePrecision(precision);
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("'", prefix, ".precision': ", p.status().message()));
    if (*p == Precision::kBf16 && j.dtype != "float32") {
      return absl::InvalidArgumentError(absl::StrCat(prefix, ".precision bf16 keeps float32 master weights, so dtype ",
                                                     "must be float32, not ", j.dtype));
    }
    o->precision = *p;
  }
  const CoordinatorOptions& k = j.coordinator;
  const int64_t batch = k.prompts_per_step * k.samples_per_prompt;
  for (ActorTrainOptions* o : {&j.actor, &j.critic}) {
    o->epochs = epochs;
    o->mini_batch = mini_batch;
    o->micro_batch = micro_batch;
    o->seed = static_cast<uint64_t>(j.seed);
    o->optimizer.total_steps = k.steps * epochs * ((batch + mini_batch - 1) / mini_batch);
  }
  return absl::OkStatus();
}

absl::Status ReadLaunchKeys(ConfigReader& c, RtoJobConfig::Launch& l) {
  RTO_RETURN_IF_ERROR(ReadAll(
      {c.Read("launch.rollout_workers", &l.rollout_workers), c.Read("launch.scorer_replicas", &l.scorer_replicas),
       c.Read("launch.learner_ranks", &l.learner_ranks), c.Read("launch.critic_ranks", &l.critic_ranks),
       c.Read("launch.host", &l.host), c.Read("launch.startup_timeout_s", &l.startup_timeout_s),
       c.Read("launch.weight_sync_timeout_s", &l.weight_sync_timeout_s), c.Read("launch.bucket_mb", &l.bucket_mb),
       c.Read("launch.weight_transport", &l.weight_transport), c.Read("launch.rpc_deadline_s", &l.rpc_deadline_s),
       c.Read("launch.max_message_mb", &l.max_message_mb), c.Read("launch.mailbox", &l.mailbox),
       c.Read("launch.restart_workers", &l.restart_workers), c.Read("launch.heartbeat_s", &l.heartbeat_s),
       c.Read("launch.heartbeat_timeout_s", &l.heartbeat_timeout_s), c.Read("launch.max_restarts", &l.max_restarts),
       c.Read("launch.restart_window_s", &l.restart_window_s)}));
  if (l.max_restarts < 0 || !(l.restart_window_s > 0)) {
    return absl::InvalidArgumentError("launch.max_restarts must be >= 0 and launch.restart_window_s > 0");
  }
  if (l.rollout_workers < 1 || l.scorer_replicas < 1 || l.learner_ranks < 1 || l.critic_ranks < 1 || l.bucket_mb < 1 ||
      l.mailbox < 1 || l.max_message_mb < 1) {
    return absl::InvalidArgumentError(
        "launch.rollout_workers, scorer_replicas, learner_ranks, critic_ranks, bucket_mb, mailbox and "
        "max_message_mb must be >= 1");
  }
  if (l.weight_transport != "auto" && l.weight_transport != "gloo") {
    return absl::InvalidArgumentError(
        absl::StrCat("launch.weight_transport must be auto or gloo, not '", l.weight_transport, "'"));
  }
  if (!(l.heartbeat_s > 0) || !(l.heartbeat_timeout_s > l.heartbeat_s)) {
    return absl::InvalidArgumentError("launch.heartbeat_s must be > 0 and launch.heartbeat_timeout_s above it");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RtoJobConfig::Read(ConfigReader& c) {
  RTO_RETURN_IF_ERROR(ReadRunKeys(c, *this));
  RTO_RETURN_IF_ERROR(ReadLoopKeys(c, *this));
  RTO_RETURN_IF_ERROR(ReadTrainingKeys(c, *this));  // after the loop: the schedules span its steps
  RTO_RETURN_IF_ERROR(ReadLaunchKeys(c, launch));
  RTO_RETURN_IF_ERROR(security.Read(c));
  return c.CheckNoUnknownKeys();
}

absl::StatusOr<std::unique_ptr<Transformer>> LoadRoleModel(const RtoJobConfig& cfg, const std::string& dir,
                                                           HeadKind head, ModelUse use) {
  LoadOptions options{.head = head};
  RTO_ASSIGN_OR_RETURN(options.device, ParseDevice(cfg.device));
  if (use == ModelUse::kTrained) {
    RTO_ASSIGN_OR_RETURN(options.dtype, ParseScalarType(cfg.dtype));
  } else {
    if (cfg.frozen.dtype == "stored") {
      options.stored_dtype = true;
    } else {
      RTO_ASSIGN_OR_RETURN(options.dtype, ParseScalarType(cfg.frozen.dtype));
    }
    options.map_weights = cfg.frozen.map_weights;
  }
  RTO_ASSIGN_OR_RETURN(ModelConfig policy, LoadModelConfig(cfg.models.policy + "/config.json"));
  RTO_ASSIGN_OR_RETURN(auto model, LoadModel(dir, options));
  RTO_ASSIGN_OR_RETURN(bool own_tokenizer, HasOwnTokenizer(cfg, dir));
  if (!own_tokenizer && model->config().vocab_size != policy.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, ": vocabulary of ", model->config().vocab_size, " tokens, but the policy has ",
                     policy.vocab_size, " (a model without tokenizer files of its own shares the policy's)"));
  }
  return model;
}

namespace {

// The tokenizer file that decides a directory's tokenizer, as LoadTokenizer picks it; empty when
// there is none.
std::string TokenizerFileOf(const std::string& dir) {
  std::error_code ec;
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    const std::string path = dir + "/" + name;
    if (std::filesystem::exists(path, ec)) return path;
  }
  return "";
}

}  // namespace

absl::StatusOr<bool> HasOwnTokenizer(const RtoJobConfig& cfg, const std::string& dir) {
  const std::string own = TokenizerFileOf(dir), policy = TokenizerFileOf(cfg.models.policy);
  if (own.empty()) return false;
  if (policy.empty()) return true;
  RTO_ASSIGN_OR_RETURN(std::string own_bytes, ReadFileToString(own));
  RTO_ASSIGN_OR_RETURN(std::string policy_bytes, ReadFileToString(policy));
  return own_bytes != policy_bytes;
}

absl::StatusOr<std::unique_ptr<Retokenizer>> MakeRetokenizer(const RtoJobConfig& cfg, const std::string& dir) {
  RTO_ASSIGN_OR_RETURN(bool own, HasOwnTokenizer(cfg, dir));
  if (!own) return std::unique_ptr<Retokenizer>();
  RTO_ASSIGN_OR_RETURN(std::shared_ptr<const Tokenizer> policy, LoadTokenizer(cfg.models.policy));
  RTO_ASSIGN_OR_RETURN(std::shared_ptr<const Tokenizer> target, LoadTokenizer(dir));
  RTO_ASSIGN_OR_RETURN(ChatFormat policy_template, ChatFormat::Of(*policy, cfg.chat_template));
  absl::StatusOr<ChatFormat> target_template =
      target->chat_template().empty() ? ChatFormat(ChatTemplate::kPlain) : ChatFormat::Of(*target, "");
  if (!target_template.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(dir, ": ", target_template.status().message()));
  }
  std::vector<std::vector<ChatMessage>> prompts;
  for (const std::string& path : {cfg.prompts, cfg.eval_prompts}) {
    if (path.empty()) continue;
    RTO_ASSIGN_OR_RETURN(std::vector<PromptRow> rows, ReadPrompts(path, {}));
    for (PromptRow& row : rows) prompts.push_back(std::move(row.prompt));
  }
  return Retokenizer::Create({policy, policy_template, cfg.max_prompt_tokens}, {target, *target_template, 0}, prompts);
}

absl::StatusOr<std::unique_ptr<Coordinator>> MakeCoordinator(const RtoJobConfig& cfg, Coordinator::Roles roles,
                                                             const Tokenizer& tokenizer,
                                                             const std::string& resolved_config, bool resume) {
  CoordinatorOptions options = cfg.coordinator;
  if (options.reward.normalize_reward) {
    const std::string path = cfg.models.reward + "/reward_normalization.json";
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("mean") || !j["mean"].is_number() || !j.contains("std") ||
        !j["std"].is_number() || !(j["std"].get<double>() > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": expected {\"mean\": number, \"std\": number > 0}"));
    }
    options.reward.reward_mean = j["mean"].get<double>();
    options.reward.reward_std = j["std"].get<double>();
  }
  // Responses end at the policy's EOS tokens (config.json), else the tokenizer's.
  RTO_ASSIGN_OR_RETURN(ModelConfig policy_config, LoadModelConfig(cfg.models.policy + "/config.json"));
  options.sampling.stop_token_ids = policy_config.eos_token_ids;
  if (options.sampling.stop_token_ids.empty() && tokenizer.special_tokens().eos_id) {
    options.sampling.stop_token_ids = {*tokenizer.special_tokens().eos_id};
  }
  options.eval_sampling.stop_token_ids = options.sampling.stop_token_ids;
  TextEncoderOptions text{.max_prompt_tokens = cfg.max_prompt_tokens};
  RTO_ASSIGN_OR_RETURN(text.chat_template, ChatFormat::Of(tokenizer, cfg.chat_template));
  TextEncoder encoder(tokenizer, text);
  RTO_ASSIGN_OR_RETURN(std::vector<PromptItem> prompts, ReadPromptItems(cfg.prompts, encoder, 0));
  std::vector<PromptItem> eval_prompts;
  if (!cfg.eval_prompts.empty() && options.eval_every > 0) {
    RTO_ASSIGN_OR_RETURN(eval_prompts, ReadPromptItems(cfg.eval_prompts, encoder, cfg.max_eval_prompts));
  }
  return Coordinator::Create(options, roles, std::move(prompts), std::move(eval_prompts), &tokenizer, cfg.out,
                             resolved_config, resume);
}

}  // namespace rto
