// rto: the command-line front end. `rto help` lists the commands.
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <torch/headeronly/version.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/util/log_lines.h"
#include "services/rto/commands.h"

namespace {

// One command of `rto`: the one or two words that name it, its usage (synopsis and what it
// does, as `rto help` lists it) and its entry point, which takes the arguments after the words.
struct Command {
  const char* words[2];  // the second is null for a one-word command
  const char* usage;
  int (*run)(const std::vector<std::string>&);

  size_t word_count() const { return words[1] == nullptr ? 1 : 2; }
};

constexpr Command kCommands[] = {
    {{"model", "init"},
     R"(  model init --config CONFIG.json --out DIR [--seed S] [--dtype float32|bfloat16|float16]
             [--tokenizer DIR]
      Write a randomly initialised HF model directory for the given HF config.json (and copy
      the tokenizer files of DIR into it).
)",
     rto::ModelInitCommand},
    {{"model", "inspect"},
     R"(  model inspect DIR
      Validate a model directory and print its architecture, parameter count and dtype.
)",
     rto::ModelInspectCommand},
    {{"generate", nullptr},
     R"(  generate --model DIR --prompts IN.jsonl --out OUT.jsonl [--max-new-tokens N]
           [--temperature T] [--top-k K] [--top-p P] [--seed S] [--batch-size B]
           [--stop-token-ids ID,ID] [--dtype D] [--device cpu|cuda[:N]] [--tokenizer DIR]
           [--chat-template chatml|llama3|mistral|plain] [--max-prompt-tokens N] [--threads N]
      Sample a response for every prompt with the KV cache. Lines with "prompt_ids" are token
      ids; lines with "prompt" (text or messages) or "messages" go through the tokenizer and
      chat template, and the output then holds "prompt" and "response" text for `rto eval`.
)",
     rto::GenerateCommand},
    {{"tokenize", nullptr},
     R"(  tokenize --model DIR [--no-special-tokens] [--chat [--chat-template NAME]]
           [--decode [--skip-special-tokens]]
      The model's tokenizer: stdin's text to ids on one line; --chat: each JSONL row
      ({"prompt": ...} or {"messages": [...]}) through the chat template to a line of ids, as
      generation and training see it; --decode: ids on stdin to their text.
)",
     rto::TokenizeCommand},
    {{"synth", nullptr},
     R"(  synth --task lexicon|count|cipher|add|exact_length|sum_to --out DIR [--seed S]
        [--sft-rows N] [--preference-rows N] [--rl-prompts N] [--eval-prompts N] [--val-prompts N]
      Write a synthetic task: SFT/preference/prompt JSONL, a tokenizer and a model config.
)",
     rto::SynthCommand},
    {{"eval", nullptr},
     R"(  eval (--task-dir DIR | --task NAME --seed S) --samples FILE.jsonl [--baseline FILE.jsonl]
       [--out RESULT.json]
      Mean gold reward of {"prompt", "response"} samples, and win rate against a baseline.
)",
     rto::EvalCommand},
    {{"train", nullptr},
     R"(  train sft|rm|dpo|rto|ppo --config JOB.yaml [--set key=value ...] [--resume]
      SFT, reward-model, DPO, RTO or PPO training into a run directory (configs/sft.yaml,
      rm.yaml, dpo.yaml, rto.yaml; ppo forces reward.dpo_reward_scale 0; configs/ppo.yaml,
      grpo.yaml, rloo.yaml, grpo_dpo.yaml, rloo_dpo.yaml hold each method's tuned settings);
      --resume continues from the newest complete checkpoint.
)",
     rto::TrainCommand},
    {{"plot", nullptr},
     R"(  plot RUN_DIR [--out FILE.svg] [--keys KEY,KEY]
      The run's curves (metrics.jsonl) as an SVG, a panel per metric: by default the main
      ones it has (RM score, DPO token reward, KL, entropy, length; or loss, accuracy), in
      RUN_DIR/curves.svg. TensorBoard reads the same metrics: tensorboard --logdir RUN_DIR.
)",
     rto::PlotCommand},
    {{"launch", nullptr},
     R"(  launch --config rto.yaml [--set key=value ...] [--resume]
      The RTO job with every role as its own process on this machine (gRPC between them,
      weights broadcast over Gloo); per-service logs in <out>/logs/. Its gRPC is TLS with
      tokens, from credentials it makes in <out>/security/ (unless security.plaintext).
)",
     rto::LaunchCommand},
    {{"coordinator", nullptr},
     R"(  coordinator --config rto.yaml [--set key=value ...] [--resume] [--host H] [--port P]
              [--metrics-port P] [--metrics-host H] [--health-port P] [--advertise HOST]
      The RTO job's coordinator alone: rto-<role> workers started elsewhere (docker-compose,
      Kubernetes) register with it given --coordinator HOST:PORT. Credentials: security.dir.
)",
     rto::CoordinatorCommand},
    {{"ctl", nullptr},
     R"(  ctl status|pause|resume|stop (--address HOST:PORT | --run DIR) [--security-dir DIR]
      [--plaintext] [--json]
      Ask a running coordinator for its status (workers, step, last metrics), or pause,
      resume or stop its run between steps (stop saves a checkpoint for --resume). With
      --run DIR the operator's credentials are DIR/security/operator.
)",
     rto::CtlCommand},
    {{"security", nullptr},
     R"(  security init --out DIR [--host NAME ...] [--days N]
      Make a run's credentials (a CA; a certificate, key and token per principal) for
      deployments that start the roles themselves (deploy/README.md).
)",
     rto::SecurityCommand},
    {{"health", nullptr},
     R"(  health --address HOST:PORT (--plaintext | --security-dir DIR)
      Exit 0 when the server's grpc.health.v1 answers SERVING (a probe for a --health-port).
)",
     rto::HealthCommand},
};

// The version, and the LibTorch (and CUDA) it was built with.
std::string Version() {
  std::string v = absl::StrCat("rto ", RTO_VERSION, "\nLibTorch ", TORCH_VERSION_MAJOR, ".", TORCH_VERSION_MINOR, ".",
                               TORCH_VERSION_PATCH);
#ifdef RTO_CUDA_VERSION
  absl::StrAppend(&v, ", CUDA (built against toolkit ", RTO_CUDA_VERSION, "), NCCL");
#else
  absl::StrAppend(&v, ", CPU only");
#endif
  return v + "\n";
}

void PrintUsage(std::ostream& out) {
  out << "usage: rto <command> [flags]   (rto <command> --help: one command; rto --version)\n\ncommands:\n";
  for (const Command& c : kCommands) out << c.usage;
}

// The command `args` start with, or null.
const Command* Find(const std::vector<std::string>& args) {
  for (const Command& c : kCommands) {
    if (args.size() >= c.word_count() && args[0] == c.words[0] && (c.word_count() == 1 || args[1] == c.words[1])) {
      return &c;
    }
  }
  return nullptr;
}

bool AsksForHelp(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
}

}  // namespace

int main(int argc, char** argv) {
  rto::WriteLogLinesWhole();
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintUsage(std::cerr);
    return 2;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << Version();
    return 0;
  }
  if (args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    const std::vector<std::string> topic(args.begin() + 1, args.end());
    if (const Command* c = Find(topic); c != nullptr) {
      std::cout << "usage: rto <command> [flags]\n" << c->usage;
      return 0;
    }
    PrintUsage(std::cout);
    return topic.empty() ? 0 : 2;
  }
  const Command* command = Find(args);
  if (command == nullptr) {
    std::cerr << "rto: unknown command '"
              << absl::StrJoin(args.begin(), args.begin() + std::min<size_t>(args.size(), 2), " ") << "'\n";
    PrintUsage(std::cerr);
    return 2;
  }
  const std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(command->word_count()), args.end());
  if (AsksForHelp(rest)) {
    std::cout << "usage: rto <command> [flags]\n" << command->usage;
    return 0;
  }
  try {
    return command->run(rest);
  } catch (const std::exception& e) {
    // Library errors come back as absl::Status; an exception here is a bug, reported, not a crash.
    std::cerr << "rto: internal error: " << e.what() << "\n";
    return 1;
  }
}
