#include "common/actors/in_process.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/actors/trajectory_batch.h"
#include "common/generate/generate.h"
#include "common/rl/ppo_losses.h"
#include "common/train/model_state.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace rto {
namespace {

using nlohmann::json;

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

// Log-probs at temperature 0 (greedy) are those of the plain softmax, as the sampler reports.
double LogProbTemperature(double temperature) { return temperature > 0 ? temperature : 1.0; }

// Rows `rows` of every tensor of the batch.
TrajectoryBatch SelectRows(const TrajectoryBatch& b, const std::vector<int64_t>& rows) {
  at::Tensor index = at::tensor(rows, at::kLong).to(b.ids.device());
  return {b.ids.index_select(0, index),
          b.attention.index_select(0, index),
          b.state_positions.index_select(0, index),
          b.last_positions.index_select(0, index),
          b.targets.index_select(0, index),
          b.mask.index_select(0, index)};
}

absl::StatusOr<json> ReadJsonFile(const std::string& path) {
  RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  return j;
}

absl::StatusOr<int64_t> ReadIntField(const json& j, const std::string& path, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": missing integer '", key, "'"));
  }
  return j[key].get<int64_t>();
}

}  // namespace

// --- weights -----------------------------------------------------------------------------------

absl::Status WeightStore::Publish(const Transformer& model, int64_t version) {
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> copy;
  for (const NamedParameter& p : model.parameters()) copy.push_back(p.tensor.detach().clone());
  {
    std::lock_guard<std::mutex> lock(mu_);
    weights_ = std::move(copy);
    version_ = version;
  }
  published_.notify_all();
  return absl::OkStatus();
}

absl::Status WeightStore::Receive(Transformer& model, int64_t version) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!published_.wait_for(lock, timeout_, [&] { return version_ >= version; })) {
    return absl::DeadlineExceededError(absl::StrCat("weights of version ", version, " were not published within ",
                                                    timeout_.count(), " ms (latest: ", version_, ")"));
  }
  if (version_ != version) {
    return absl::FailedPreconditionError(
        absl::StrCat("weights of version ", version, " were asked for, but version ", version_, " is published"));
  }
  if (model.parameters().size() != weights_.size()) {
    return absl::InvalidArgumentError("the published weights do not match the rollout's model");
  }
  c10::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const at::Tensor& to = model.parameters()[i].tensor;
    if (!to.sizes().equals(weights_[i].sizes())) {
      return absl::InvalidArgumentError(
          absl::StrCat("published weight '", model.parameters()[i].name, "' has the wrong shape"));
    }
    to.copy_(weights_[i]);
  }
  return absl::OkStatus();
}

// --- rollout -----------------------------------------------------------------------------------

uint64_t SampleStream(int64_t step, int64_t prompt_id, int64_t sample_index) {
  return Mix(Mix(Mix(0x5EEDull, step), prompt_id), sample_index);
}

InProcessRollout::InProcessRollout(std::unique_ptr<Transformer> policy, std::shared_ptr<WeightSource> weights)
    : policy_(std::move(policy)), weights_(std::move(weights)) {}

absl::StatusOr<std::vector<Trajectory>> InProcessRollout::Generate(const RolloutRequest& request) {
  std::vector<Trajectory> out;
  RTO_RETURN_IF_ERROR(GenerateStreaming(request, [&](Trajectory t) { out.push_back(std::move(t)); }));
  // Request order: prompt-major, then sample (ids were assigned in that order).
  std::sort(out.begin(), out.end(), [](const Trajectory& a, const Trajectory& b) { return a.id < b.id; });
  return out;
}

absl::Status InProcessRollout::GenerateStreaming(const RolloutRequest& request,
                                                 const std::function<void(Trajectory)>& on_finished) {
  if (request.prompts.empty()) return absl::InvalidArgumentError("a rollout request with no prompts");
  if (request.samples_per_prompt < 1) {
    return absl::InvalidArgumentError(absl::StrCat("samples_per_prompt ", request.samples_per_prompt, " < 1"));
  }
  const int64_t vocab = policy_->config().vocab_size;
  std::vector<std::vector<int64_t>> prompts;
  std::vector<uint64_t> streams;
  for (const RolloutRequest::Prompt& p : request.prompts) {
    if (p.tokens.empty()) return absl::InvalidArgumentError(absl::StrCat("prompt ", p.prompt_id, " is empty"));
    for (int64_t id : p.tokens) {
      if (id < 0 || id >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("prompt ", p.prompt_id, ": token id ", id, " is outside the vocabulary [0, ", vocab, ")"));
      }
    }
    for (int64_t s = 0; s < request.samples_per_prompt; ++s) {
      prompts.push_back(p.tokens);
      streams.push_back(SampleStream(request.step, p.prompt_id, s));
    }
  }
  auto finished = [&](size_t i, const Generation& g) {
    const RolloutRequest::Prompt& p = request.prompts[i / request.samples_per_prompt];
    Trajectory t;
    t.id = request.first_trajectory_id + i;
    t.prompt_id = p.prompt_id;
    t.sample_index = static_cast<int64_t>(i % request.samples_per_prompt);
    t.policy_version = version_;
    t.prompt = p.tokens;
    t.response = g.tokens;
    t.logprobs = g.logprobs;
    t.stopped = g.finish_reason == FinishReason::kStop;
    on_finished(std::move(t));
  };
  return rto::Generate(*policy_, prompts, request.sampling, streams, finished).status();
}

absl::Status InProcessRollout::SyncWeights(int64_t version) {
  RTO_RETURN_IF_ERROR(weights_->Receive(*policy_, version));
  version_ = version;
  return absl::OkStatus();
}

// --- scorer ------------------------------------------------------------------------------------

InProcessScorer::InProcessScorer(std::unique_ptr<Transformer> reference, std::unique_ptr<Transformer> dpo,
                                 std::unique_ptr<Transformer> dpo_reference, std::unique_ptr<Transformer> reward_model,
                                 double temperature)
    : reference_(std::move(reference)),
      dpo_(std::move(dpo)),
      dpo_reference_(std::move(dpo_reference)),
      reward_model_(std::move(reward_model)),
      temperature_(LogProbTemperature(temperature)) {}

absl::StatusOr<ScoreResult> InProcessScorer::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  if (with_dpo && dpo_ == nullptr) return absl::FailedPreconditionError("this scorer holds no DPO model");
  c10::NoGradGuard no_grad;
  RTO_ASSIGN_OR_RETURN(
      TrajectoryBatch batch,
      MakeTrajectoryBatch(Pointers(trajectories), reference_->config().vocab_size, reference_->device()));
  auto states_of = [&](const Transformer& m) { return ResponseStates(m.Forward(batch.ids, batch.attention), batch); };
  ScoreResult out;
  const at::Tensor ref_states = states_of(*reference_);
  out.ref_logprobs = FromTensor(reference_->TokenLogProbs(ref_states, batch.targets, temperature_), batch.mask);
  if (with_dpo) {
    at::Tensor dpo = dpo_->TokenLogProbs(states_of(*dpo_), batch.targets);
    at::Tensor dpo_ref = dpo_reference_ != nullptr
                             ? dpo_reference_->TokenLogProbs(states_of(*dpo_reference_), batch.targets)
                             : reference_->TokenLogProbs(ref_states, batch.targets);
    out.dpo_logratio = FromTensor(dpo - dpo_ref, batch.mask);
  }
  at::Tensor hidden = reward_model_->Forward(batch.ids, batch.attention);
  at::Tensor last = hidden.gather(1, batch.last_positions.view({-1, 1, 1}).expand({-1, 1, hidden.size(-1)}));
  at::Tensor scores = reward_model_->Scores(last.squeeze(1)).to(at::kCPU).to(at::kFloat).contiguous();
  out.rm_scores.assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  return out;
}

// --- trainable models --------------------------------------------------------------------------

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
    std::mt19937_64 rng(Mix(Mix(options_.seed, step), epoch));
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
  return WriteFileAtomically(dir + "/optimizer.json", json{{"optimizer_steps", optimizer_.steps()}}.dump() + "\n");
}

absl::Status TrainableModel::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(RestoreWeights(*model_, dir + "/model"));
  const std::string path = dir + "/optimizer.json";
  RTO_ASSIGN_OR_RETURN(json state, ReadJsonFile(path));
  RTO_ASSIGN_OR_RETURN(int64_t steps, ReadIntField(state, path, "optimizer_steps"));
  return RestoreOptimizer(optimizer_, dir + "/optimizer.safetensors", steps);
}

// Runs `loss_of(micro_batch)` (which returns the summed per-token loss) over the micro-batches
// of each mini-batch, normalised by the mini-batch's tokens, and steps once per mini-batch.
template <typename LossFn>
static absl::Status TrainMiniBatches(TrainableModel& trainable, const TrajectoryBatch& batch, int64_t step,
                                     Metrics& metrics, const std::string& prefix, LossFn loss_of) {
  const ActorTrainOptions& o = trainable.options();
  int64_t index = 0;
  for (const std::vector<int64_t>& mini : trainable.MiniBatches(batch.ids.size(0), step)) {
    const double tokens =
        batch.mask.index_select(0, at::tensor(mini, at::kLong).to(batch.mask.device())).sum().item<double>();
    for (size_t begin = 0; begin < mini.size(); begin += o.micro_batch) {
      std::vector<int64_t> rows(mini.begin() + begin,
                                mini.begin() + std::min(mini.size(), begin + static_cast<size_t>(o.micro_batch)));
      at::Tensor loss_sum = loss_of(SelectRows(batch, rows), rows, index);
      (loss_sum / tokens).backward();
    }
    trainable.Step(metrics, prefix);
    ++index;
  }
  return absl::OkStatus();
}

// --- critic ------------------------------------------------------------------------------------

InProcessCritic::InProcessCritic(std::unique_ptr<Transformer> value_model, const ActorTrainOptions& options,
                                 double value_clip, std::string tokenizer_dir)
    : trainable_(std::move(value_model), options), value_clip_(value_clip), tokenizer_dir_(std::move(tokenizer_dir)) {}

absl::StatusOr<TokenValues> InProcessCritic::Values(const std::vector<Trajectory>& trajectories) {
  c10::NoGradGuard no_grad;
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch,
                       MakeTrajectoryBatch(Pointers(trajectories), m.config().vocab_size, m.device()));
  return FromTensor(m.Scores(ResponseStates(m.Forward(batch.ids, batch.attention), batch)), batch.mask);
}

absl::StatusOr<Metrics> InProcessCritic::Train(const ValueExperience& e, int64_t step) {
  c10::AutoGradMode grad_mode(true);  // whatever the caller's mode
  RTO_RETURN_IF_ERROR(CheckTokenValues(e.old_values, e.trajectories, "old values"));
  RTO_RETURN_IF_ERROR(CheckTokenValues(e.returns, e.trajectories, "returns"));
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch,
                       MakeTrajectoryBatch(Pointers(e.trajectories), m.config().vocab_size, m.device()));
  const int64_t r = batch.mask.size(1);
  const at::Tensor old_values = ToTensor(e.old_values, r).to(m.device());
  const at::Tensor returns = ToTensor(e.returns, r).to(m.device());
  Metrics metrics;
  double loss = 0, clipped = 0, tokens = 0;
  RTO_RETURN_IF_ERROR(TrainMiniBatches(trainable_, batch, step, metrics, "critic/",
                                       [&](const TrajectoryBatch& mb, const std::vector<int64_t>& rows, int64_t) {
                                         at::Tensor index = at::tensor(rows, at::kLong).to(m.device());
                                         at::Tensor values =
                                             m.Scores(ResponseStates(m.Forward(mb.ids, mb.attention), mb));
                                         rl::ValueLossResult v =
                                             rl::ValueLoss(values, old_values.index_select(0, index),
                                                           returns.index_select(0, index), mb.mask, value_clip_);
                                         loss += v.loss_sum.item<double>();
                                         clipped += v.clipped;
                                         tokens += mb.mask.sum().item<double>();
                                         return v.loss_sum;
                                       }));
  metrics["critic/value_loss"] = loss / tokens;
  metrics["critic/clip_frac"] = clipped / tokens;
  return metrics;
}

absl::Status InProcessCritic::Save(const std::string& dir) { return trainable_.Save(dir, tokenizer_dir_); }
absl::Status InProcessCritic::Restore(const std::string& dir) { return trainable_.Restore(dir); }

// --- learner -----------------------------------------------------------------------------------

InProcessLearner::InProcessLearner(std::unique_ptr<Transformer> policy, const ActorTrainOptions& options,
                                   double clip_eps, double temperature, std::string tokenizer_dir,
                                   std::shared_ptr<WeightPublisher> weights)
    : trainable_(std::move(policy), options),
      clip_eps_(clip_eps),
      temperature_(LogProbTemperature(temperature)),
      tokenizer_dir_(std::move(tokenizer_dir)),
      weights_(std::move(weights)) {}

absl::StatusOr<PolicyEvaluation> InProcessLearner::Evaluate(const std::vector<Trajectory>& trajectories) {
  c10::NoGradGuard no_grad;
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch,
                       MakeTrajectoryBatch(Pointers(trajectories), m.config().vocab_size, m.device()));
  const at::Tensor states = ResponseStates(m.Forward(batch.ids, batch.attention), batch);
  PolicyEvaluation out;
  out.logprobs = FromTensor(m.TokenLogProbs(states, batch.targets, temperature_), batch.mask);
  out.entropy = FromTensor(TokenEntropy(m, states, temperature_), batch.mask);
  return out;
}

absl::StatusOr<Metrics> InProcessLearner::Train(const PolicyExperience& e, int64_t step) {
  c10::AutoGradMode grad_mode(true);  // whatever the caller's mode
  RTO_RETURN_IF_ERROR(CheckTokenValues(e.old_logprobs, e.trajectories, "old log-probs"));
  RTO_RETURN_IF_ERROR(CheckTokenValues(e.advantages, e.trajectories, "advantages"));
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch,
                       MakeTrajectoryBatch(Pointers(e.trajectories), m.config().vocab_size, m.device()));
  const int64_t r = batch.mask.size(1);
  const at::Tensor old_logprobs = ToTensor(e.old_logprobs, r).to(m.device());
  const at::Tensor advantages = ToTensor(e.advantages, r).to(m.device());
  Metrics metrics;
  double loss = 0, clipped = 0, approx_kl = 0, tokens = 0, first_ratio_dev = 0;
  RTO_RETURN_IF_ERROR(
      TrainMiniBatches(trainable_, batch, step, metrics, "policy/",
                       [&](const TrajectoryBatch& mb, const std::vector<int64_t>& rows, int64_t mini_index) {
                         at::Tensor index = at::tensor(rows, at::kLong).to(m.device());
                         at::Tensor states = ResponseStates(m.Forward(mb.ids, mb.attention), mb);
                         at::Tensor logprobs = m.TokenLogProbs(states, mb.targets, temperature_);
                         rl::PolicyLossResult p = rl::PolicyLoss(logprobs, old_logprobs.index_select(0, index),
                                                                 advantages.index_select(0, index), mb.mask, clip_eps_);
                         loss += p.loss_sum.item<double>();
                         clipped += p.clipped;
                         approx_kl += p.approx_kl;
                         tokens += mb.mask.sum().item<double>();
                         if (mini_index == 0) first_ratio_dev = std::max(first_ratio_dev, p.ratio_max_dev);
                         return p.loss_sum;
                       }));
  ++version_;
  metrics["policy/loss"] = loss / tokens;
  metrics["ppo/clip_frac"] = clipped / tokens;
  metrics["ppo/approx_kl"] = approx_kl / tokens;
  metrics["ppo/first_minibatch_ratio_max_dev"] = first_ratio_dev;
  return metrics;
}

absl::StatusOr<int64_t> InProcessLearner::PublishWeights() {
  RTO_RETURN_IF_ERROR(weights_->Publish(trainable_.model(), version_));
  return version_;
}

absl::Status InProcessLearner::Save(const std::string& dir) {
  RTO_RETURN_IF_ERROR(trainable_.Save(dir, tokenizer_dir_));
  return WriteFileAtomically(dir + "/learner.json", json{{"version", version_}}.dump() + "\n");
}

absl::Status InProcessLearner::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(trainable_.Restore(dir));
  const std::string path = dir + "/learner.json";
  RTO_ASSIGN_OR_RETURN(json state, ReadJsonFile(path));
  RTO_ASSIGN_OR_RETURN(version_, ReadIntField(state, path, "version"));
  return absl::OkStatus();
}

absl::Status InProcessLearner::SavePolicy(const std::string& dir) {
  return SaveModelWithTokenizer(trainable_.model(), dir, tokenizer_dir_);
}

}  // namespace rto
