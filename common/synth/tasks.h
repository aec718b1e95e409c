// The synthetic preference benchmark: tasks whose true ("gold") reward is known, so that the
// pipeline can prove itself without a Hub model, a dataset or a human judge. The policy never
// sees the gold reward: it learns from SFT demonstrations and from preference labels drawn
// Bradley-Terry style from the gold reward, noisy as human labels are. Torch-free.
//
// Tasks (responses are short lists of words or numbers; tens of byte-level tokens):
//   lexicon      gold = sum of hidden per-word scores (a sum of per-token terms: RTO's premise)
//   count        gold = +1 for each number that continues the count, -1 for each that does not
//                (per-token terms again)
//   cipher       gold = +1 for each letter that is the hidden substitution cipher of the prompt's
//                letter at the same position, -1 for each other item (each output token is a
//                function of an input token elsewhere in the sequence)
//   add          gold = +1 for each digit that is the prompt's digit at its position plus K, -1
//                for each other item (a small arithmetic task, per-token terms)
//   exact_length gold = -|words - K| for the K the prompt asks for (depends only on the whole
//                response: no token is good or bad on its own)
//   sum_to       gold = -|sum of the numbers - T| for the T the prompt asks for (whole response
//                again: a number is good or bad only by what the others add up to)
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
  // True when the gold reward is a sum of per-token terms (RTO's premise), false when only the
  // whole response earns it.
  virtual bool gold_is_token_sum() const = 0;
};

// One of TaskNames(). `seed` fixes the hidden parts of a task (word scores, the cipher).
absl::StatusOr<std::unique_ptr<Task>> MakeTask(absl::string_view name, uint64_t seed);
std::vector<std::string> TaskNames();

// P(a preferred to b) under the task's Bradley-Terry model.
double PreferenceProbability(const Task& task, double gold_a, double gold_b);

struct SynthOptions {
  int64_t sft_rows = 2000;
  int64_t preference_rows = 2000;
  int64_t rl_prompts = 1000;
  int64_t eval_prompts = 200;
  int64_t val_prompts = 200;  // for choosing hyperparameters: a draw of its own stream, not the eval prompts
  uint64_t seed = 0;
};

// Writes a task's whole world into `dir`: sft.jsonl, preferences.jsonl, rl_prompts.jsonl,
// eval_prompts.jsonl, val_prompts.jsonl (JSONL formats of common/data; the validation prompts
// are an independent draw, which repeats eval prompt strings only where the task has few),
// tokenizer/ (a byte-level tokenizer.json with tokenizer_config.json), model_config.json (a tiny
// Llama sized for the tokenizer) and task.json (name, seed and whether the gold is a token sum;
// `rto eval` reads it back).
absl::Status WriteSyntheticTask(const Task& task, const std::string& dir, const SynthOptions& options);

}  // namespace rto::synth
