#include "common/synth/eval.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/data/jsonl.h"
#include "nlohmann/json.hpp"

namespace rto::synth {
namespace {

using nlohmann::json;

// Mean and the half-width of its normal-approximation 95% interval.
std::pair<double, double> MeanCi(const std::vector<double>& x) {
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) var += (v - mean) * (v - mean);
  var /= std::max<double>(1.0, static_cast<double>(x.size()) - 1);
  return {mean, 1.96 * std::sqrt(var / static_cast<double>(x.size()))};
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ReadSamples(const std::string& path) {
  std::vector<Sample> out;
  absl::Status status = ReadJsonl(path, BadLinePolicy::kFail, nullptr, [&](int64_t, const json& j) {
    if (!j.contains("prompt") || !j["prompt"].is_string()) return absl::InvalidArgumentError("missing string 'prompt'");
    if (!j.contains("response") || !j["response"].is_string()) {
      return absl::InvalidArgumentError("missing string 'response'");
    }
    out.push_back({j["prompt"], j["response"]});
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<EvalResult> Evaluate(const Task& task, const std::vector<Sample>& samples,
                                    const std::vector<Sample>* baseline) {
  if (samples.empty()) return absl::InvalidArgumentError("no samples to evaluate");
  if (baseline != nullptr && baseline->size() != samples.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the baseline has ", baseline->size(), " samples, not ", samples.size()));
  }
  EvalResult r;
  r.n = static_cast<int64_t>(samples.size());
  std::vector<double> gold, ideal, wins;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    gold.push_back(task.GoldReward(s.prompt, s.response));
    ideal.push_back(task.GoldReward(s.prompt, task.IdealResponse(s.prompt)));
    if (baseline != nullptr) {
      const Sample& b = (*baseline)[i];
      if (b.prompt != s.prompt) {
        return absl::InvalidArgumentError(absl::StrCat("sample ", i + 1, ": the baseline's prompt differs"));
      }
      double other = task.GoldReward(b.prompt, b.response);
      wins.push_back(gold.back() > other ? 1.0 : gold.back() == other ? 0.5 : 0.0);
    }
  }
  std::tie(r.mean_gold, r.gold_ci95) = MeanCi(gold);
  r.ideal_mean_gold = MeanCi(ideal).first;
  if (baseline != nullptr) {
    auto [rate, ci] = MeanCi(wins);
    r.win_rate = rate;
    r.win_ci95 = ci;
  }
  return r;
}

std::string EvalResultJson(const Task& task, const EvalResult& r) {
  json j = {{"task", task.name()},
            {"n", r.n},
            {"mean_gold", r.mean_gold},
            {"gold_ci95", r.gold_ci95},
            {"ideal_mean_gold", r.ideal_mean_gold}};
  if (r.win_rate) {
    j["win_rate"] = *r.win_rate;
    j["win_ci95"] = *r.win_ci95;
  }
  return j.dump(2) + "\n";
}

}  // namespace rto::synth
