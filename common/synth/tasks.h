// The synthetic preference benchmark: tasks whose true ("gold") reward is known, so that the
// pipeline can prove itself without a Hub model, a dataset or a human judge. The policy never
// sees the gold reward: it learns from SFT demonstrations and from preference labels drawn
// Bradley-Terry style from the gold reward, noisy as human labels are. Torch-free.
//
// Tasks (responses are short lists of words or numbers; tens of byte-level tokens):
//   lexicon      gold = sum of hidden per-word scores (a sum of per-token terms: RTO's premise)
//   count        gold = +1 for each number that continues the count, -1 for each that does not
//                (per-token terms again)
//   exact_length gold = -|words - K| for the K the prompt asks for (depends only on the whole
//                response: no token is good or bad on its own)
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rto::synth {

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // A user prompt, drawn from the task's prompt distribution.
  virtual std::string SamplePrompt(std::mt19937_64& rng) const = 0;
  // A response as a demonstrator (an imperfect "SFT-like" policy) would write it.
  virtual std::string SampleResponse(absl::string_view prompt, std::mt19937_64& rng) const = 0;
  // The best response for a prompt: its gold reward is the task's maximum.
  virtual std::string IdealResponse(absl::string_view prompt) const = 0;
  virtual double GoldReward(absl::string_view prompt, absl::string_view response) const = 0;
  // k of the Bradley-Terry labels: P(a preferred to b) = sigmoid(k * (gold(a) - gold(b))).
  virtual double label_sharpness() const = 0;
};

// "lexicon", "count", "exact_length". `seed` fixes the hidden parts of a task (word scores).
absl::StatusOr<std::unique_ptr<Task>> MakeTask(absl::string_view name, uint64_t seed);
std::vector<std::string> TaskNames();

// P(a preferred to b) under the task's Bradley-Terry model.
double PreferenceProbability(const Task& task, double gold_a, double gold_b);

struct SynthOptions {
  int64_t sft_rows = 2000;
  int64_t preference_rows = 2000;
  int64_t rl_prompts = 1000;
  int64_t eval_prompts = 200;
  uint64_t seed = 0;
};

// Writes a task's whole world into `dir`: sft.jsonl, preferences.jsonl, rl_prompts.jsonl,
// eval_prompts.jsonl (JSONL formats of common/data), tokenizer/ (a byte-level tokenizer.json
// with tokenizer_config.json), model_config.json (a tiny Llama sized for the tokenizer) and
// task.json (name and seed, which `rto eval` reads back).
absl::Status WriteSyntheticTask(const Task& task, const std::string& dir, const SynthOptions& options);

}  // namespace rto::synth
