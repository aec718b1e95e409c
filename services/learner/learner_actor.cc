#include "services/learner/learner_actor.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

#include "common/actors/train_mini_batches.h"
#include "common/actors/trajectory_batch.h"
#include "common/rl/ppo_losses.h"
#include "common/train/model_state.h"
#include "common/util/file.h"
#include "common/util/json_file.h"
#include "common/util/status_macros.h"

namespace rto {

InProcessLearner::InProcessLearner(std::unique_ptr<Transformer> policy, const ActorTrainOptions& options,
                                   double clip_eps, double temperature, std::string tokenizer_dir,
                                   std::shared_ptr<WeightPublisher> weights,
                                   std::unique_ptr<DataParallelGroup> data_parallel)
    : policy_(std::move(policy)),
      data_parallel_(std::move(data_parallel)),
      options_(options),
      trainable_(*policy_, options.optimizer, options.precision),
      clip_eps_(clip_eps),
      temperature_(LogProbTemperature(temperature)),
      tokenizer_dir_(std::move(tokenizer_dir)),
      weights_(std::move(weights)) {
  trainable_.SetDataParallel(data_parallel_.get());
}

absl::StatusOr<PolicyEvaluation> InProcessLearner::LogProbs(const std::vector<Trajectory>& trajectories) {
  c10::NoGradGuard no_grad;
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch, MakeTrajectoryBatch(trajectories, m));
  const at::Tensor states = ResponseStates(m.Forward(batch.ids, batch.attention), batch);
  PolicyEvaluation out;
  out.logprobs = FromTensor(m.TokenLogProbs(states, batch.targets, temperature_), batch.mask);
  out.entropy = FromTensor(TokenEntropy(m, states, temperature_), batch.mask);
  return out;
}

absl::StatusOr<Metrics> InProcessLearner::Train(const PolicyExperience& e, int64_t step) {
  c10::AutoGradMode grad_mode(true);  // whatever the caller's mode
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch, MakeTrajectoryBatch(e.trajectories, m));
  RTO_ASSIGN_OR_RETURN(at::Tensor old_logprobs,
                       TokenValuesTensor(e.old_logprobs, e.trajectories, batch, "old log-probs"));
  RTO_ASSIGN_OR_RETURN(at::Tensor advantages, TokenValuesTensor(e.advantages, e.trajectories, batch, "advantages"));
  Metrics metrics;
  double loss = 0, clipped = 0, approx_kl = 0, tokens = 0, first_ratio_dev = 0;
  RTO_RETURN_IF_ERROR(
      TrainMiniBatches(trainable_, options_, batch, step, metrics, "policy/",
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
  RTO_ASSIGN_OR_RETURN(std::vector<double> sums,
                       SumOverRanks(data_parallel_.get(), {loss, clipped, approx_kl, tokens}));
  RTO_ASSIGN_OR_RETURN(std::vector<double> max, MaxOverRanks(data_parallel_.get(), {first_ratio_dev}));
  metrics["policy/loss"] = sums[0] / sums[3];
  metrics["ppo/clip_frac"] = sums[1] / sums[3];
  metrics["ppo/approx_kl"] = sums[2] / sums[3];
  metrics["ppo/first_minibatch_ratio_max_dev"] = max[0];
  return metrics;
}

absl::StatusOr<WeightSyncStats> InProcessLearner::PublishWeights(const std::optional<WeightGroupOptions>& group) {
  if (weights_ == nullptr) {
    return absl::FailedPreconditionError("this learner publishes no weights: data-parallel rank 0 does");
  }
  return weights_->Publish(trainable_.master(), version_, group);
}

absl::Status InProcessLearner::Save(const std::string& dir) {
  RTO_RETURN_IF_ERROR(trainable_.Save(dir, tokenizer_dir_));
  if (data_parallel_ != nullptr && data_parallel_->rank() != 0) return absl::OkStatus();  // rank 0 writes the rest
  return WriteFileAtomically(dir + "/learner.json", nlohmann::json{{"version", version_}}.dump() + "\n");
}

absl::Status InProcessLearner::Restore(const std::string& dir) {
  RTO_RETURN_IF_ERROR(trainable_.Restore(dir));
  const std::string path = dir + "/learner.json";
  RTO_ASSIGN_OR_RETURN(nlohmann::json state, ReadJsonObject(path));
  RTO_ASSIGN_OR_RETURN(version_, JsonInt(state, path, "version"));
  return absl::OkStatus();
}

absl::Status InProcessLearner::SavePolicy(const std::string& dir) {
  return SaveModelWithTokenizer(trainable_.master(), dir, tokenizer_dir_);
}

absl::StatusOr<std::unique_ptr<InProcessLearner>> MakeLearner(const RtoJobConfig& cfg,
                                                              std::shared_ptr<WeightPublisher> weights,
                                                              std::unique_ptr<DataParallelGroup> data_parallel) {
  RTO_ASSIGN_OR_RETURN(auto policy, LoadRoleModel(cfg, cfg.models.policy, HeadKind::kLanguageModel));
  return std::make_unique<InProcessLearner>(std::move(policy), cfg.actor, cfg.clip_eps,
                                            cfg.coordinator.sampling.temperature, cfg.models.policy, std::move(weights),
                                            std::move(data_parallel));
}

}  // namespace rto
