// `rto synth` and `rto eval`: the synthetic preference benchmark (common/synth).
#include <filesystem>
#include <iostream>

#include "absl/strings/str_format.h"
#include "common/synth/eval.h"
#include "common/synth/tasks.h"
#include "common/util/args.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "services/rto/commands.h"

namespace rto {
namespace {

absl::Status Synth(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"task", "out", "seed", "sft-rows", "preference-rows", "rl-prompts",
                                                     "eval-prompts", "val-prompts"}));
  RTO_ASSIGN_OR_RETURN(std::string name, args.GetRequired("task"));
  RTO_ASSIGN_OR_RETURN(std::string out, args.GetRequired("out"));
  synth::SynthOptions o;
  RTO_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 0));
  o.seed = static_cast<uint64_t>(seed);
  RTO_ASSIGN_OR_RETURN(o.sft_rows, args.GetInt("sft-rows", o.sft_rows));
  RTO_ASSIGN_OR_RETURN(o.preference_rows, args.GetInt("preference-rows", o.preference_rows));
  RTO_ASSIGN_OR_RETURN(o.rl_prompts, args.GetInt("rl-prompts", o.rl_prompts));
  RTO_ASSIGN_OR_RETURN(o.eval_prompts, args.GetInt("eval-prompts", o.eval_prompts));
  RTO_ASSIGN_OR_RETURN(o.val_prompts, args.GetInt("val-prompts", o.val_prompts));
  for (int64_t n : {o.sft_rows, o.preference_rows, o.rl_prompts, o.eval_prompts, o.val_prompts}) {
    if (n < 1) return absl::InvalidArgumentError("row counts must be at least 1");
  }
  RTO_ASSIGN_OR_RETURN(auto task, synth::MakeTask(name, o.seed));
  RTO_RETURN_IF_ERROR(synth::WriteSyntheticTask(*task, out, o));
  std::cout << absl::StrFormat(
      "wrote task %s (seed %d) to %s: %d SFT rows, %d preference pairs, %d RL prompts, %d eval prompts, %d "
      "validation prompts\n",
      task->name(), seed, out, o.sft_rows, o.preference_rows, o.rl_prompts, o.eval_prompts, o.val_prompts);
  return absl::OkStatus();
}

absl::Status Eval(const std::vector<std::string>& argv) {
  RTO_ASSIGN_OR_RETURN(Args args, Args::Parse(argv, {"task", "task-dir", "seed", "samples", "baseline", "out"}));
  std::string name = args.GetString("task", "");
  RTO_ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 0));
  if (args.Has("task-dir")) {  // the task and seed that `rto synth` recorded
    std::string path = args.GetString("task-dir", "") + "/task.json";
    RTO_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("task") || !j["task"].is_string() || !j.contains("seed") ||
        !j["seed"].is_number_unsigned()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": expected {\"task\": name, \"seed\": n}"));
    }
    name = j["task"];
    seed = j["seed"].get<int64_t>();
  }
  if (name.empty()) return absl::InvalidArgumentError("--task or --task-dir is required");
  RTO_ASSIGN_OR_RETURN(auto task, synth::MakeTask(name, static_cast<uint64_t>(seed)));
  RTO_ASSIGN_OR_RETURN(std::string samples_path, args.GetRequired("samples"));
  RTO_ASSIGN_OR_RETURN(auto samples, synth::ReadSamples(samples_path));
  std::vector<synth::Sample> baseline;
  if (args.Has("baseline")) {
    RTO_ASSIGN_OR_RETURN(baseline, synth::ReadSamples(args.GetString("baseline", "")));
  }
  RTO_ASSIGN_OR_RETURN(synth::EvalResult r,
                       synth::Evaluate(*task, samples, args.Has("baseline") ? &baseline : nullptr));
  std::cout << absl::StrFormat("task %s, %d samples: mean gold reward %.3f +- %.3f (best possible %.3f)", task->name(),
                               r.n, r.mean_gold, r.gold_ci95, r.ideal_mean_gold);
  if (r.win_rate) std::cout << absl::StrFormat(", win rate vs baseline %.3f +- %.3f", *r.win_rate, *r.win_ci95);
  std::cout << "\n";
  if (args.Has("out"))
    RTO_RETURN_IF_ERROR(WriteFileAtomically(args.GetString("out", ""), synth::EvalResultJson(*task, r)));
  return absl::OkStatus();
}

}  // namespace

int SynthCommand(const std::vector<std::string>& args) { return Report("synth", Synth(args)); }
int EvalCommand(const std::vector<std::string>& args) { return Report("eval", Eval(args)); }

}  // namespace rto
