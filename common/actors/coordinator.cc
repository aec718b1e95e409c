#include "common/actors/coordinator.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/actors/trajectory_batch.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "common/util/time.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Response and prompt tokens of a batch, and how many responses ended with EOS.
struct BatchTokens {
  int64_t responses = 0, response_tokens = 0, all_tokens = 0, stopped = 0;
};

BatchTokens CountTokens(const std::vector<Trajectory>& trajectories) {
  BatchTokens b;
  for (const Trajectory& t : trajectories) {
    ++b.responses;
    b.response_tokens += static_cast<int64_t>(t.response.size());
    b.all_tokens += static_cast<int64_t>(t.prompt.size() + t.response.size());
    b.stopped += t.stopped ? 1 : 0;
  }
  return b;
}

// Response length, the share that stopped, and throughput per stage: generated tokens for the
// rollout, prompt + response tokens (what the forward passes read) otherwise.
void AddBatchMetrics(Metrics& m, const BatchTokens& b) {
  m["response/length"] = static_cast<double>(b.response_tokens) / b.responses;
  m["response/stopped_frac"] = static_cast<double>(b.stopped) / b.responses;
  for (const auto& [stage, seconds] : Metrics(m)) {
    if (stage.rfind("time/", 0) != 0 || stage == "time/weight_sync_s" || stage == "time/generate_wait_s") continue;
    const std::string name = stage.substr(5, stage.size() - 7);  // time/<name>_s
    const double tokens = name == "generate" ? b.response_tokens : b.all_tokens;
    m["throughput/" + name + "_tokens_per_s"] = tokens / std::max(seconds, 1e-9);
  }
}

}  // namespace

Coordinator::Coordinator(const CoordinatorOptions& options, Roles roles, std::vector<PromptItem> prompts,
                         std::vector<PromptItem> eval_prompts, const Tokenizer* tokenizer, RunDirectory run)
    : options_(options),
      roles_(roles),
      prompts_(std::move(prompts)),
      eval_prompts_(std::move(eval_prompts)),
      tokenizer_(tokenizer),
      run_(std::move(run)),
      checkpoints_(run_.checkpoints(), static_cast<int>(options.keep_checkpoints)),
      order_(static_cast<int64_t>(prompts_.size()), options.data_seed),
      kl_(options.kl_target > 0 ? rl::KlController::Adaptive(options.kl_coef, options.kl_target, options.kl_horizon)
                                : rl::KlController::Fixed(options.kl_coef)) {}

double DpoRewardScaleAt(const CoordinatorOptions& o, int64_t step) {
  const double start = o.reward.dpo_reward_scale;
  if (o.dpo_reward_scale_end < 0 || o.steps <= 1) return start;
  const double progress =
      static_cast<double>(std::clamp<int64_t>(step, 0, o.steps - 1)) / static_cast<double>(o.steps - 1);
  return start + (o.dpo_reward_scale_end - start) * progress;
}

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(const CoordinatorOptions& options, Roles roles,
                                                                 std::vector<PromptItem> prompts,
                                                                 std::vector<PromptItem> eval_prompts,
                                                                 const Tokenizer* tokenizer, const std::string& out,
                                                                 const std::string& resolved_config, bool resume) {
  if (roles.rollout == nullptr || roles.scorer == nullptr || roles.learner == nullptr) {
    return absl::InvalidArgumentError("the coordinator needs a rollout, a scorer and a learner");
  }
  if ((options.estimator == AdvantageEstimator::kGae) != (roles.critic != nullptr)) {
    return absl::InvalidArgumentError("GAE needs a critic and the critic-free estimators take none");
  }
  if (prompts.empty()) return absl::InvalidArgumentError("the prompt dataset is empty");
  if (options.steps < 1 || options.prompts_per_step < 1 || options.samples_per_prompt < 1 ||
      options.checkpoint_every < 1 || options.keep_checkpoints < 1) {
    return absl::InvalidArgumentError(
        "steps, prompts_per_step, samples_per_prompt, checkpoint.every and checkpoint.keep must be >= 1");
  }
  if ((options.estimator == AdvantageEstimator::kGrpo || options.estimator == AdvantageEstimator::kRloo) &&
      options.samples_per_prompt < 2) {
    return absl::InvalidArgumentError("GRPO and RLOO need at least 2 samples per prompt");
  }
  if (options.max_staleness < 0 || options.max_staleness > 1) {
    // One rollout pool generates one batch at a time, and the learner can only publish the
    // weights it holds: a second batch ahead would wait for the first and overlap nothing more.
    return absl::InvalidArgumentError(absl::StrCat("rollout.max_staleness is ", options.max_staleness,
                                                   "; it must be 0 (on-policy) or 1 (generate one batch ahead)"));
  }
  RTO_ASSIGN_OR_RETURN(RunDirectory run, RunDirectory::Open(out, resolved_config, resume));
  std::unique_ptr<Coordinator> c(
      new Coordinator(options, roles, std::move(prompts), std::move(eval_prompts), tokenizer, std::move(run)));
  c->run_.set_progress_keys({"reward/rm_score", "kl/ref", "policy/entropy", "response/length", "time/step_s"});
  if (resume) {
    RTO_ASSIGN_OR_RETURN(const bool restored,
                         c->checkpoints_.RestoreLatest([&](const std::string& dir) { return c->Restore(dir); }));
    if (restored) RTO_RETURN_IF_ERROR(c->run_.ForgetStepsFrom(c->step_));
  }
  return c;
}

absl::Status Coordinator::SyncRollout() {
  // Publishing and receiving are the two ends of one broadcast: they run at the same time.
  const int64_t version = roles_.learner->version();
  std::future<absl::StatusOr<WeightSyncStats>> published =
      std::async(std::launch::async, [this] { return roles_.learner->PublishWeights(std::nullopt); });
  const absl::StatusOr<WeightSyncStats> received = roles_.rollout->SyncWeights({.version = version});
  const absl::StatusOr<WeightSyncStats> sent = published.get();
  if (!sent.ok()) return sent.status();
  if (sent->version != version) {
    return absl::InternalError(absl::StrCat("the learner published version ", sent->version, ", not ", version));
  }
  RTO_RETURN_IF_ERROR(received.status());
  rollout_version_ = version;
  return absl::OkStatus();
}

absl::Status Coordinator::EnsureRolloutCurrent() {
  if (rollout_version_ == roles_.learner->version()) return absl::OkStatus();
  return SyncWithRecovery();
}

RolloutRequest Coordinator::NextRequest(int64_t step) {
  RolloutRequest request;
  for (int64_t row : order_.Next(options_.prompts_per_step)) request.prompts.push_back({row, prompts_[row].tokens});
  request.samples_per_prompt = options_.samples_per_prompt;
  request.sampling = options_.sampling;
  request.step = step;
  request.first_trajectory_id = static_cast<uint64_t>(step * options_.prompts_per_step * options_.samples_per_prompt);
  return request;
}

bool Coordinator::CheckpointAfter(int64_t steps_done) const {
  return steps_done % options_.checkpoint_every == 0 || steps_done == options_.steps;
}

bool Coordinator::EvaluateAfter(int64_t steps_done) const {
  return options_.eval_every > 0 && (steps_done % options_.eval_every == 0 || steps_done == options_.steps);
}

void Coordinator::DiscardPending() {
  if (!pending_.valid()) return;
  pending_.get();
  if (absl::Status s = order_.Restore(order_before_pending_); !s.ok()) {
    std::cerr << "coordinator: cannot give back the prompts of a dropped batch: " << s.message() << "\n";
  }
}

absl::StatusOr<std::vector<Trajectory>> Coordinator::GenerateWithRecovery(const RolloutRequest& request) {
  absl::StatusOr<std::vector<Trajectory>> out = roles_.rollout->Generate(request);
  if (out.ok() || !recover_ || out.status().code() != absl::StatusCode::kUnavailable) return out;
  std::cerr << "coordinator: rollout unavailable (" << out.status().message() << "); recovering\n";
  RTO_RETURN_IF_ERROR(recover_());
  ++recoveries_;
  RTO_RETURN_IF_ERROR(SyncRollout());
  // The samples are keyed by (step, prompt, sample): the retry draws exactly the same ones.
  return roles_.rollout->Generate(request);
}

absl::Status Coordinator::SyncWithRecovery() {
  absl::Status s = SyncRollout();
  if (s.ok() || !recover_ ||
      (s.code() != absl::StatusCode::kUnavailable && s.code() != absl::StatusCode::kDeadlineExceeded)) {
    return s;
  }
  std::cerr << "coordinator: weight sync failed (" << s.message() << "); recovering\n";
  RTO_RETURN_IF_ERROR(recover_());
  ++recoveries_;
  return SyncRollout();
}

// This step's batch: generated ahead during the last step, or now by the current weights. A
// batch generated ahead whose worker died cannot be drawn again from the weights that drew it
// (the learner has moved on since): the error goes to the caller, which brings the run back to
// its newest checkpoint (the distributed run), so that the run stays the undisturbed one.
absl::StatusOr<std::vector<Trajectory>> Coordinator::AcquireBatch(Metrics& m, double& sync_s) {
  const auto start = Clock::now();
  std::vector<Trajectory> trajectories;
  std::optional<RolloutRequest> request;  // set when the batch is still to be generated
  if (pending_.valid()) {
    Generated ahead = pending_.get();
    RTO_RETURN_IF_ERROR(ahead.trajectories.status());
    trajectories = std::move(*ahead.trajectories);
    m["time/generate_s"] = ahead.seconds;
  } else {
    request = NextRequest(step_);
  }
  if (request) {
    const auto sync_start = Clock::now();
    RTO_RETURN_IF_ERROR(EnsureRolloutCurrent());
    sync_s += SecondsSince(sync_start);
    const auto generate_start = Clock::now();
    RTO_ASSIGN_OR_RETURN(trajectories, GenerateWithRecovery(*request));
    m["time/generate_s"] = SecondsSince(generate_start);
  }
  m["time/generate_wait_s"] = SecondsSince(start) - sync_s;
  return trajectories;
}

absl::Status Coordinator::CheckStaleness(const std::vector<Trajectory>& trajectories, Metrics& m) const {
  const int64_t version = roles_.learner->version();
  int64_t staleness = 0;
  for (const Trajectory& t : trajectories) {
    if (t.policy_version > version || version - t.policy_version > options_.max_staleness) {
      return absl::FailedPreconditionError(absl::StrCat("trajectory ", t.id, " was generated by policy version ",
                                                        t.policy_version, " but the learner is at ", version,
                                                        " (max staleness ", options_.max_staleness, ")"));
    }
    staleness = std::max(staleness, version - t.policy_version);
  }
  m["rollout/staleness"] = static_cast<double>(staleness);
  return absl::OkStatus();
}

// Generates the next step's batch now, while this one trains, unless a checkpoint or an
// evaluation comes first: those see the rollout idle and the learner's newest weights.
absl::Status Coordinator::PrefetchNext(double& sync_s) {
  const int64_t after = step_ + 1;
  if (options_.max_staleness == 0 || after >= options_.steps || CheckpointAfter(after) || EvaluateAfter(after)) {
    return absl::OkStatus();
  }
  const auto sync_start = Clock::now();
  RTO_RETURN_IF_ERROR(EnsureRolloutCurrent());
  sync_s += SecondsSince(sync_start);
  order_before_pending_ = order_.state();
  pending_ = std::async(std::launch::async, [this, next = NextRequest(after)]() mutable {
    const auto t = Clock::now();
    Generated g;
    g.request = std::move(next);
    g.trajectories = roles_.rollout->Generate(g.request);
    g.seconds = SecondsSince(t);
    return g;
  });
  return absl::OkStatus();
}

// fn() on its own thread (remote roles work at the same time) or when get() is called (roles
// in this process take the cores in turn); *seconds gets how long it took.
template <typename Fn>
auto Coordinator::Timed(double* seconds, Fn fn) const {
  return std::async(options_.parallel_roles ? std::launch::async : std::launch::deferred, [seconds, fn]() {
    const auto t = Clock::now();
    auto r = fn();
    *seconds = SecondsSince(t);
    return r;
  });
}

// Scoring, the learner's log-probs and the critic's values are independent of each other.
absl::StatusOr<StepAnswers> Coordinator::GatherAnswers(const std::vector<Trajectory>& trajectories, Metrics& m) {
  const bool with_dpo = options_.reward.dpo_reward_scale != 0;
  double score_s = 0, logprobs_s = 0, values_s = 0;
  auto scored = Timed(&score_s, [&] { return roles_.scorer->Score(trajectories, with_dpo); });
  auto evaluated = Timed(&logprobs_s, [&] { return roles_.learner->LogProbs(trajectories); });
  std::future<absl::StatusOr<TokenValues>> valued;
  if (roles_.critic != nullptr) valued = Timed(&values_s, [&] { return roles_.critic->Values(trajectories); });
  absl::StatusOr<ScoreResult> score_result = scored.get();
  absl::StatusOr<PolicyEvaluation> policy_result = evaluated.get();
  absl::StatusOr<TokenValues> values_result = valued.valid() ? valued.get() : TokenValues();
  StepAnswers answers;
  RTO_ASSIGN_OR_RETURN(answers.scores, std::move(score_result));
  RTO_ASSIGN_OR_RETURN(answers.policy, std::move(policy_result));
  RTO_ASSIGN_OR_RETURN(answers.values, std::move(values_result));
  m["time/score_s"] = score_s;
  m["time/policy_logprobs_s"] = logprobs_s;
  if (roles_.critic != nullptr) m["time/values_s"] = values_s;
  return answers;
}

// The learner and the critic train on the same step independently.
absl::Status Coordinator::TrainRoles(std::vector<Trajectory> trajectories, StepAnswers answers,
                                     const Experience& experience, Metrics& m) {
  PolicyExperience policy_experience{trajectories, std::move(answers.policy.logprobs), experience.advantages};
  ValueExperience value_experience{std::move(trajectories), std::move(answers.values), experience.returns};
  double train_policy_s = 0, train_critic_s = 0;
  auto policy_trained = Timed(&train_policy_s, [&] { return roles_.learner->Train(policy_experience, step_); });
  std::future<absl::StatusOr<Metrics>> critic_trained;
  if (roles_.critic != nullptr) {
    critic_trained = Timed(&train_critic_s, [&] { return roles_.critic->Train(value_experience, step_); });
  }
  absl::StatusOr<Metrics> learner_result = policy_trained.get();
  absl::StatusOr<Metrics> critic_result = critic_trained.valid() ? critic_trained.get() : Metrics();
  RTO_ASSIGN_OR_RETURN(Metrics learner_metrics, std::move(learner_result));
  RTO_ASSIGN_OR_RETURN(Metrics critic_metrics, std::move(critic_result));
  m["time/train_policy_s"] = train_policy_s;
  m.insert(learner_metrics.begin(), learner_metrics.end());
  if (roles_.critic != nullptr) {
    m["time/train_critic_s"] = train_critic_s;
    m.insert(critic_metrics.begin(), critic_metrics.end());
  }
  return absl::OkStatus();
}

absl::StatusOr<Metrics> Coordinator::Step() {
  Metrics m;
  double sync_s = 0;
  RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> trajectories, AcquireBatch(m, sync_s));
  RTO_RETURN_IF_ERROR(CheckStaleness(trajectories, m));
  RTO_RETURN_IF_ERROR(PrefetchNext(sync_s));
  RTO_ASSIGN_OR_RETURN(StepAnswers answers, GatherAnswers(trajectories, m));
  rl::TokenRewardOptions reward = options_.reward;
  reward.dpo_reward_scale = DpoRewardScaleAt(options_, step_);
  m["reward/dpo_scale"] = reward.dpo_reward_scale;
  RTO_ASSIGN_OR_RETURN(Experience experience, BuildExperience(trajectories, answers,
                                                              {.reward = reward,
                                                               .kl_coef = kl_.coef(),
                                                               .estimator = options_.estimator,
                                                               .samples_per_prompt = options_.samples_per_prompt,
                                                               .gamma = options_.gamma,
                                                               .lambda = options_.lambda,
                                                               .whiten_advantages = options_.whiten_advantages}));
  m.insert(experience.metrics.begin(), experience.metrics.end());
  const BatchTokens tokens = CountTokens(trajectories);
  RTO_RETURN_IF_ERROR(TrainRoles(std::move(trajectories), std::move(answers), experience, m));
  kl_.Update(experience.kl_per_sequence, tokens.responses);
  m["time/weight_sync_s"] = sync_s;
  m["rollout/recoveries"] = static_cast<double>(recoveries_);
  m["policy/version"] = static_cast<double>(roles_.learner->version());
  AddBatchMetrics(m, tokens);
  ++step_;
  m["samples"] = static_cast<double>(step_ * options_.prompts_per_step * options_.samples_per_prompt);
  return m;
}

absl::StatusOr<Metrics> Coordinator::WriteEvalSamples() {
  Metrics m;
  if (eval_prompts_.empty() || tokenizer_ == nullptr) return m;
  RolloutRequest request;
  for (size_t i = 0; i < eval_prompts_.size(); ++i) {
    request.prompts.push_back({static_cast<int64_t>(i), eval_prompts_[i].tokens});
  }
  request.sampling = options_.eval_sampling;
  request.step = -1;  // the same random streams at every evaluation: only the policy changes
  RTO_RETURN_IF_ERROR(EnsureRolloutCurrent());
  const auto start = Clock::now();
  RTO_ASSIGN_OR_RETURN(std::vector<Trajectory> samples, roles_.rollout->Generate(request));
  RTO_ASSIGN_OR_RETURN(ScoreResult scores, roles_.scorer->Score(samples, /*with_dpo=*/false));
  std::string lines;
  double rm_sum = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    json line = {{"prompt", json::parse(eval_prompts_[i].original_json)},
                 {"response", tokenizer_->Decode(samples[i].response, /*skip_special_tokens=*/true)},
                 {"rm_score", scores.rm_scores[i]},
                 {"policy_version", samples[i].policy_version}};
    lines += line.dump() + "\n";
    rm_sum += scores.rm_scores[i];
  }
  const std::string dir = run_.dir() + "/samples";
  std::filesystem::create_directories(dir);
  RTO_RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(dir, "/step-", step_, ".jsonl"), lines));
  m["eval/rm_score"] = rm_sum / samples.size();
  m["time/eval_s"] = SecondsSince(start);
  return m;
}

absl::Status Coordinator::Save(const std::string& dir) {
  RTO_RETURN_IF_ERROR(roles_.learner->Save(dir + "/policy"));
  if (roles_.critic != nullptr) RTO_RETURN_IF_ERROR(roles_.critic->Save(dir + "/critic"));
  const DataOrder::State data = order_.state();
  json state = {{"step", step_}, {"data_epoch", data.epoch}, {"data_position", data.position}, {"kl_coef", kl_.coef()}};
  return WriteFileAtomically(dir + "/coordinator.json", state.dump(2) + "\n");
}

absl::Status Coordinator::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(roles_.learner->Restore(dir + "/policy"));
  if (roles_.critic != nullptr) RTO_RETURN_IF_ERROR(roles_.critic->Restore(dir + "/critic"));
  const std::string path = dir + "/coordinator.json";
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  json state = json::parse(text, nullptr, false);
  for (const char* key : {"step", "data_epoch", "data_position"}) {
    if (!state.is_object() || !state.contains(key) || !state[key].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": missing integer '", key, "'"));
    }
  }
  if (!state.contains("kl_coef") || !state["kl_coef"].is_number()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": missing number 'kl_coef'"));
  }
  RTO_RETURN_IF_ERROR(order_.Restore({state["data_epoch"].get<int64_t>(), state["data_position"].get<int64_t>()}));
  kl_.Restore(state["kl_coef"].get<double>());
  step_ = state["step"].get<int64_t>();
  rollout_version_ = -1;
  return absl::OkStatus();
}

absl::Status Coordinator::Run() {
  if (options_.checkpoint_at_start && step_ == 0) {
    RTO_ASSIGN_OR_RETURN(std::vector<CheckpointRef> existing, checkpoints_.List());
    if (existing.empty()) RTO_RETURN_IF_ERROR(checkpoints_.Save(0, [&](const std::string& dir) { return Save(dir); }));
  }
  if (options_.eval_every > 0 && step_ == 0) {
    RTO_ASSIGN_OR_RETURN(Metrics initial, WriteEvalSamples());
    std::cerr << absl::StrFormat("initial policy: eval/rm_score %.4f\n", initial["eval/rm_score"]);
  }
  Metrics last;
  while (step_ < options_.steps) {
    if (between_steps_ && between_steps_()) {
      DiscardPending();
      if (!CheckpointAfter(step_)) {
        RTO_RETURN_IF_ERROR(checkpoints_.Save(step_, [&](const std::string& dir) { return Save(dir); }));
      }
      std::cerr << "coordinator: stopped at step " << step_ << "; continue with --resume\n";
      stopped_ = true;
      return EnsureRolloutCurrent();
    }
    const auto start = Clock::now();
    RTO_ASSIGN_OR_RETURN(Metrics m, Step());
    m["time/step_s"] = SecondsSince(start);
    if (EvaluateAfter(step_)) {
      RTO_ASSIGN_OR_RETURN(Metrics e, WriteEvalSamples());
      m.insert(e.begin(), e.end());
    }
    RTO_RETURN_IF_ERROR(run_.LogStep(step_ - 1, options_.steps, m));
    if (observer_) observer_(m);
    last = m;
    if (CheckpointAfter(step_)) {
      RTO_RETURN_IF_ERROR(checkpoints_.Save(step_, [&](const std::string& dir) { return Save(dir); }));
    }
  }
  RTO_RETURN_IF_ERROR(EnsureRolloutCurrent());
  RTO_RETURN_IF_ERROR(roles_.learner->SavePolicy(run_.dir() + "/final"));
  Metrics summary;
  for (const auto& [k, v] : last) summary["final_" + k] = v;
  summary["steps"] = static_cast<double>(options_.steps);
  return run_.WriteSummary(summary);
}

}  // namespace rto
