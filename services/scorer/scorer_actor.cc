#include "services/scorer/scorer_actor.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "common/actors/trajectory_batch.h"
#include "common/util/status_macros.h"

namespace rto {

InProcessScorer::InProcessScorer(std::unique_ptr<Transformer> reference, std::unique_ptr<Transformer> dpo,
                                 std::unique_ptr<Transformer> dpo_reference, std::unique_ptr<Transformer> reward_model,
                                 double temperature, std::unique_ptr<Retokenizer> reward_retokenizer)
    : reference_(std::move(reference)),
      dpo_(std::move(dpo)),
      dpo_reference_(std::move(dpo_reference)),
      reward_model_(std::move(reward_model)),
      temperature_(LogProbTemperature(temperature)),
      reward_retokenizer_(std::move(reward_retokenizer)) {}

absl::StatusOr<ScoreResult> InProcessScorer::Score(const std::vector<Trajectory>& trajectories, bool with_dpo) {
  if (with_dpo && dpo_ == nullptr) return absl::FailedPreconditionError("this scorer holds no DPO model");
  c10::NoGradGuard no_grad;
  RTO_ASSIGN_OR_RETURN(TrajectoryBatch batch, MakeTrajectoryBatch(trajectories, *reference_));
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
  if (reward_retokenizer_ != nullptr) {  // the reward model reads its own tokens
    RTO_ASSIGN_OR_RETURN(batch, MakeTrajectoryBatch(trajectories, *reward_model_, reward_retokenizer_.get()));
  }
  at::Tensor hidden = reward_model_->Forward(batch.ids, batch.attention);
  at::Tensor last = hidden.gather(1, batch.last_positions.view({-1, 1, 1}).expand({-1, 1, hidden.size(-1)}));
  at::Tensor scores = reward_model_->Scores(last.squeeze(1)).to(at::kCPU).to(at::kFloat).contiguous();
  out.rm_scores.assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
  return out;
}

absl::StatusOr<std::unique_ptr<InProcessScorer>> MakeScorer(const RtoJobConfig& cfg) {
  const std::string reference_dir = cfg.models.reference.empty() ? cfg.models.policy : cfg.models.reference;
  RTO_ASSIGN_OR_RETURN(auto reference, LoadRoleModel(cfg, reference_dir, HeadKind::kLanguageModel, ModelUse::kFrozen));
  std::unique_ptr<Transformer> dpo, dpo_reference;
  if (cfg.coordinator.reward.dpo_reward_scale != 0) {
    RTO_ASSIGN_OR_RETURN(dpo, LoadRoleModel(cfg, cfg.models.dpo, HeadKind::kLanguageModel, ModelUse::kFrozen));
    // The DPO model's reference is usually the policy's reference: then it is held once.
    std::error_code ec;
    if (!cfg.models.dpo_reference.empty() &&
        !std::filesystem::equivalent(cfg.models.dpo_reference, reference_dir, ec)) {
      RTO_ASSIGN_OR_RETURN(dpo_reference,
                           LoadRoleModel(cfg, cfg.models.dpo_reference, HeadKind::kLanguageModel, ModelUse::kFrozen));
    }
  }
  RTO_ASSIGN_OR_RETURN(auto reward, LoadRoleModel(cfg, cfg.models.reward, HeadKind::kScore, ModelUse::kFrozen));
  RTO_ASSIGN_OR_RETURN(std::unique_ptr<Retokenizer> retokenizer, MakeRetokenizer(cfg, cfg.models.reward));
  return std::make_unique<InProcessScorer>(std::move(reference), std::move(dpo), std::move(dpo_reference),
                                           std::move(reward), cfg.coordinator.sampling.temperature,
                                           std::move(retokenizer));
}

}  // namespace rto
