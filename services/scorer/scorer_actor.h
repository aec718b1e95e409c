// The scorer role's actor: the frozen models (the reference, the DPO model and its reference, the
// reward model) that give per-token reference and DPO log-probs and a reward per response. Not
// thread-safe: one thread (its mailbox's).
#pragma once

#include <memory>
#include <vector>

#include "common/actors/roles.h"
#include "common/actors/rto_job.h"
#include "common/data/retokenize.h"
#include "common/model/transformer.h"

namespace rto {

class InProcessScorer : public Scorer {
 public:
  // `dpo` may be null (plain PPO); a null `dpo_reference` means the DPO model's reference is
  // `reference`. Log-probs for the KL use softmax(logits / temperature), the sampling
  // distribution; the DPO log-ratio uses temperature 1, as DPO trained it.
  // `reward_retokenizer`: set when the reward model has a tokenizer of its own (null: it reads
  // the policy's tokens).
  InProcessScorer(std::unique_ptr<Transformer> reference, std::unique_ptr<Transformer> dpo,
                  std::unique_ptr<Transformer> dpo_reference, std::unique_ptr<Transformer> reward_model,
                  double temperature, std::unique_ptr<Retokenizer> reward_retokenizer = nullptr);
  absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) override;

 private:
  std::unique_ptr<Transformer> reference_, dpo_, dpo_reference_, reward_model_;
  double temperature_;
  std::unique_ptr<Retokenizer> reward_retokenizer_;
};

// The scorer actor of a config (the DPO model only when reward.dpo_reward_scale is not 0).
absl::StatusOr<std::unique_ptr<InProcessScorer>> MakeScorer(const RtoJobConfig& config);

}  // namespace rto
