#include "services/critic/critic_actor.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "common/actors/train_mini_batches.h"
#include "common/actors/trajectory_batch.h"
#include "common/rl/ppo_losses.h"
#include "common/util/status_macros.h"

namespace rto {

InProcessCritic::InProcessCritic(std::unique_ptr<Transformer> value_model, const ActorTrainOptions& options,
                                 double value_clip, std::string tokenizer_dir,
                                 std::unique_ptr<DataParallelGroup> data_parallel,
                                 std::unique_ptr<Retokenizer> retokenizer)
    : value_model_(std::move(value_model)),
      data_parallel_(std::move(data_parallel)),
      options_(options),
      trainable_(*value_model_, options.optimizer, options.precision),
      value_clip_(value_clip),
      tokenizer_dir_(std::move(tokenizer_dir)),
      retokenizer_(std::move(retokenizer)) {
  trainable_.SetDataParallel(data_parallel_.get());
}

absl::StatusOr<TokenValues> InProcessCritic::Values(const std::vector<Trajectory>& trajectories) {
  c10::NoGradGuard no_grad;
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch, MakeTrajectoryBatch(trajectories, m, retokenizer_.get()));
  return FromTensor(m.Scores(ResponseStates(m.Forward(batch.ids, batch.attention), batch)), batch.mask);
}

absl::StatusOr<Metrics> InProcessCritic::Train(const ValueExperience& e, int64_t step) {
  c10::AutoGradMode grad_mode(true);  // whatever the caller's mode
  Transformer& m = trainable_.model();
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch, MakeTrajectoryBatch(e.trajectories, m, retokenizer_.get()));
  RTO_ASSIGN_OR_RETURN(at::Tensor old_values, TokenValuesTensor(e.old_values, e.trajectories, batch, "old values"));
  RTO_ASSIGN_OR_RETURN(at::Tensor returns, TokenValuesTensor(e.returns, e.trajectories, batch, "returns"));
  Metrics metrics;
  double loss = 0, clipped = 0, tokens = 0;
  RTO_RETURN_IF_ERROR(TrainMiniBatches(trainable_, options_, batch, step, metrics, "critic/",
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
  RTO_ASSIGN_OR_RETURN(std::vector<double> sums, SumOverRanks(data_parallel_.get(), {loss, clipped, tokens}));
  metrics["critic/value_loss"] = sums[0] / sums[2];
  metrics["critic/clip_frac"] = sums[1] / sums[2];
  return metrics;
}

absl::Status InProcessCritic::Save(const std::string& dir) { return trainable_.Save(dir, tokenizer_dir_); }
absl::Status InProcessCritic::Restore(const std::string& dir) { return trainable_.Restore(dir); }

absl::StatusOr<std::unique_ptr<InProcessCritic>> MakeCritic(const RtoJobConfig& cfg,
                                                            std::unique_ptr<DataParallelGroup> data_parallel) {
  if (cfg.coordinator.estimator != AdvantageEstimator::kGae) return std::unique_ptr<InProcessCritic>();
  const std::string init = cfg.models.critic.empty() ? cfg.models.reward : cfg.models.critic;
  RTO_ASSIGN_OR_RETURN(auto value_model, LoadRoleModel(cfg, init, HeadKind::kScore));
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Retokenizer> retokenizer, MakeRetokenizer(cfg, init));
  return std::make_unique<InProcessCritic>(std::move(value_model), cfg.critic, cfg.value_clip, init,
                                           std::move(data_parallel), std::move(retokenizer));
}

}  // namespace rto
