// `rto eval`: scores sample files by a task's gold reward (the benchmark's stand-in for
// AlpacaEval's judge): mean gold reward and win rate against a baseline, with 95% intervals.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/synth/tasks.h"

namespace rto::synth {

struct Sample {
  std::string prompt, response;
};

// {"prompt": str, "response": str} per line; errors name file:line.
absl::StatusOr<std::vector<Sample>> ReadSamples(const std::string& path);

struct EvalResult {
  int64_t n = 0;
  double mean_gold = 0, gold_ci95 = 0;       // mean and half-width of its 95% interval
  double ideal_mean_gold = 0;                // the best possible mean on these prompts
  std::optional<double> win_rate, win_ci95;  // vs the baseline: wins + ties / 2
};

// REQUIRES (checked): a baseline, when given, holds the same prompts in the same order.
absl::StatusOr<EvalResult> Evaluate(const Task& task, const std::vector<Sample>& samples,
                                    const std::vector<Sample>* baseline = nullptr);

std::string EvalResultJson(const Task& task, const EvalResult& r);

}  // namespace rto::synth
