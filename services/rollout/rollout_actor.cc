#include "services/rollout/rollout_actor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/generate/generate.h"
#include "common/util/hash.h"
#include "common/util/status_macros.h"

namespace rto {

uint64_t SampleStream(int64_t step, int64_t prompt_id, int64_t sample_index) {
  return MixHash(MixHash(MixHash(0x5EEDull, step), prompt_id), sample_index);
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

absl::StatusOr<WeightSyncStats> InProcessRollout::SyncWeights(const WeightSync& sync) {
  RTO_ASSIGN_OR_RETURN(WeightSyncStats stats, weights_->Receive(*policy_, sync));
  version_ = sync.version;
  return stats;
}

absl::StatusOr<std::unique_ptr<InProcessRollout>> MakeRollout(const RtoJobConfig& cfg,
                                                              std::shared_ptr<WeightSource> weights) {
  RTO_ASSIGN_OR_RETURN(auto policy, LoadRoleModel(cfg, cfg.models.policy, HeadKind::kLanguageModel));
  return std::make_unique<InProcessRollout>(std::move(policy), std::move(weights));
}

}  // namespace rto
