// The roles of an RTO run (DESIGN.md section 2) as interfaces. The coordinator's loop is
// written against these only: each role's in-process actor (services/<role>/<role>_actor.h)
// implements its interface in one process, and its gRPC client across processes.
//
// Everything here is plain data, free of torch, so that it can cross a wire as it is.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/generate/sampling.h"
#include "common/util/metrics.h"
#include "common/weight_sync/group_options.h"

namespace rto {

// One sampled response and where it came from.
struct Trajectory {
  uint64_t id = 0;              // unique within a run
  int64_t prompt_id = 0;        // the prompt's row in the prompt dataset
  int64_t sample_index = 0;     // which of the prompt's samples this is
  int64_t policy_version = 0;   // the weights that generated it (the learner's update count)
  std::vector<int64_t> prompt;  // token ids
  std::vector<int64_t> response;
  std::vector<float> logprobs;  // behaviour log-probs of the response tokens
  bool stopped = false;         // ended on a stop token (false: ran out of tokens)
};

struct RolloutRequest {
  struct Prompt {
    int64_t prompt_id = 0;
    std::vector<int64_t> tokens;
  };
  std::vector<Prompt> prompts;
  int64_t samples_per_prompt = 1;
  SamplingParams sampling;
  // Keys the random streams: the sample of (prompt_id, sample_index) drawn at `step` is the same
  // whichever worker draws it and whatever else shares its batch.
  int64_t step = 0;
  uint64_t first_trajectory_id = 0;  // ids are assigned in order: prompt-major, then sample
};

// Per-token values are one vector per trajectory, as long as its response.
using TokenValues = std::vector<std::vector<float>>;

// The weights of `version`, to be taken from the learner. Across processes the broadcast group
// of this transfer comes with it (which generation, this rank, the learner's store); a client
// that knows the group plan fills it in, so the coordinator's loop never names one.
struct WeightSync {
  int64_t version = 0;
  std::optional<WeightGroupOptions> group;
};

// What one publication or reception of the weights moved.
struct WeightSyncStats {
  int64_t version = 0;
  int64_t bytes = 0;
  double seconds = 0;
  std::string transport;  // "memory" (one process), "shm", "gloo", "nccl" or "cuda_ipc"
};

// Which weights a role holds: their version and a hash of their bytes (equal weights, equal hash).
struct WeightsFingerprint {
  int64_t version = 0;
  uint64_t hash = 0;
};

class Rollout {
 public:
  virtual ~Rollout() = default;
  // Samples `samples_per_prompt` responses per prompt; the samples of a prompt are contiguous.
  virtual absl::StatusOr<std::vector<Trajectory>> Generate(const RolloutRequest& request) = 0;
  // The same samples, handed to `on_finished` one by one as each is complete (in finishing
  // order). The default hands them over at the end, in request order.
  virtual absl::Status GenerateStreaming(const RolloutRequest& request,
                                         const std::function<void(Trajectory)>& on_finished) {
    absl::StatusOr<std::vector<Trajectory>> all = Generate(request);
    if (!all.ok()) return all.status();
    for (Trajectory& t : *all) on_finished(std::move(t));
    return absl::OkStatus();
  }
  // Takes the weights the learner publishes as `sync.version` (between generations, never inside
  // one).
  virtual absl::StatusOr<WeightSyncStats> SyncWeights(const WeightSync& sync) = 0;
  virtual absl::StatusOr<WeightsFingerprint> Fingerprint() = 0;
};

struct ScoreResult {
  TokenValues ref_logprobs;      // log pi_ref per response token
  TokenValues dpo_logratio;      // log pi_dpo - log pi_dpo_ref per token; empty when not asked for
  std::vector<float> rm_scores;  // the reward model's raw score per trajectory
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual absl::StatusOr<ScoreResult> Score(const std::vector<Trajectory>& trajectories, bool with_dpo) = 0;
};

// What the critic trains on: the values it gave before the update and the returns.
struct ValueExperience {
  std::vector<Trajectory> trajectories;
  TokenValues old_values, returns;
};

class Critic {
 public:
  virtual ~Critic() = default;
  virtual absl::StatusOr<TokenValues> Values(const std::vector<Trajectory>& trajectories) = 0;
  virtual absl::StatusOr<Metrics> Train(const ValueExperience& experience, int64_t step) = 0;
  // Writes the critic (HF directory + optimiser) into `dir`, or restores it from there.
  virtual absl::Status Save(const std::string& dir) = 0;
  virtual absl::Status Restore(const std::string& dir) = 0;
};

struct PolicyEvaluation {
  TokenValues logprobs;  // log pi_theta per response token at the learner's current weights
  TokenValues entropy;   // entropy of the policy's next-token distribution at each response token
};

struct PolicyExperience {
  std::vector<Trajectory> trajectories;
  TokenValues old_logprobs, advantages;
};

class Learner {
 public:
  virtual ~Learner() = default;
  // The policy's log-probs and entropy at its current weights (PPO's old log-probs).
  virtual absl::StatusOr<PolicyEvaluation> LogProbs(const std::vector<Trajectory>& trajectories) = 0;
  // PPO epochs over shuffled mini-batches; the shuffle is keyed by `step`.
  virtual absl::StatusOr<Metrics> Train(const PolicyExperience& experience, int64_t step) = 0;
  // Sends the current weights to the rollout workers (across processes, through `group`, which a
  // client that knows the group plan fills in).
  virtual absl::StatusOr<WeightSyncStats> PublishWeights(const std::optional<WeightGroupOptions>& group) = 0;
  virtual absl::StatusOr<WeightsFingerprint> Fingerprint() = 0;
  virtual int64_t version() const = 0;
  // `dir` gets model/ (HF directory with the tokenizer), the optimiser and the version.
  virtual absl::Status Save(const std::string& dir) = 0;
  virtual absl::Status Restore(const std::string& dir) = 0;
  // Writes just the policy as an HF directory.
  virtual absl::Status SavePolicy(const std::string& dir) = 0;
};

}  // namespace rto
