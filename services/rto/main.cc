// rto: the command-line front end. `rto help` lists the commands.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "common/util/log_lines.h"
#include "services/rto/commands.h"

namespace {

constexpr char kUsage[] = R"(usage: rto <command> [flags]

commands:
  model init --config CONFIG.json --out DIR [--seed S] [--dtype float32|bfloat16|float16]
             [--tokenizer DIR]
      Write a randomly initialised HF model directory for the given HF config.json (and copy
      the tokenizer files of DIR into it).
  model inspect DIR
      Validate a model directory and print its architecture, parameter count and dtype.
  generate --model DIR --prompts IN.jsonl --out OUT.jsonl [--max-new-tokens N]
           [--temperature T] [--top-k K] [--top-p P] [--seed S] [--batch-size B]
           [--stop-token-ids ID,ID] [--dtype D] [--device cpu|cuda[:N]] [--tokenizer DIR]
           [--chat-template chatml|llama3|mistral|plain] [--max-prompt-tokens N] [--threads N]
      Sample a response for every prompt with the KV cache. Lines with "prompt_ids" are token
      ids; lines with "prompt" (text or messages) or "messages" go through the tokenizer and
      chat template, and the output then holds "prompt" and "response" text for `rto eval`.
  synth --task lexicon|count|exact_length --out DIR [--seed S] [--sft-rows N]
        [--preference-rows N] [--rl-prompts N] [--eval-prompts N]
      Write a synthetic task: SFT/preference/prompt JSONL, a tokenizer and a model config.
  eval (--task-dir DIR | --task NAME --seed S) --samples FILE.jsonl [--baseline FILE.jsonl]
       [--out RESULT.json]
      Mean gold reward of {"prompt", "response"} samples, and win rate against a baseline.
  train sft|rm|dpo|rto|ppo --config JOB.yaml [--set key=value ...] [--resume]
      SFT, reward-model, DPO, RTO or PPO training into a run directory (configs/sft.yaml,
      rm.yaml, dpo.yaml, rto.yaml; ppo is rto.yaml with reward.dpo_reward_scale 0);
      --resume continues from the newest complete checkpoint.
  launch --config rto.yaml [--set key=value ...] [--resume]
      The RTO job with every role as its own process on this machine (gRPC between them,
      weights broadcast over Gloo); per-service logs in <out>/logs/. Its gRPC is TLS with
      tokens, from credentials it makes in <out>/security/ (unless security.plaintext).
  coordinator --config rto.yaml [--set key=value ...] [--resume] [--host H] [--port P]
              [--metrics-port P] [--metrics-host H] [--health-port P] [--advertise HOST]
      The RTO job's coordinator alone: rto-<role> workers started elsewhere (docker-compose,
      Kubernetes) register with it given --coordinator HOST:PORT. Credentials: security.dir.
  ctl status|pause|resume|stop (--address HOST:PORT | --run DIR) [--security-dir DIR]
      [--plaintext] [--json]
      Ask a running coordinator for its status (workers, step, last metrics), or pause,
      resume or stop its run between steps (stop saves a checkpoint for --resume). With
      --run DIR the operator's credentials are DIR/security/operator.
  security init --out DIR [--host NAME ...] [--days N]
      Make a run's credentials (a CA; a certificate, key and token per principal) for
      deployments that start the roles themselves (deploy/README.md).
  health --address HOST:PORT (--plaintext | --security-dir DIR)
      Exit 0 when the server's grpc.health.v1 answers SERVING (a probe for a --health-port).
)";

}  // namespace

int main(int argc, char** argv) {
  rto::WriteLogLinesWhole();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto rest = [&](size_t n) { return std::vector<std::string>(args.begin() + n, args.end()); };
  try {
    if (args.size() >= 2 && args[0] == "model" && args[1] == "init") return rto::ModelInitCommand(rest(2));
    if (args.size() >= 2 && args[0] == "model" && args[1] == "inspect") return rto::ModelInspectCommand(rest(2));
    if (!args.empty() && args[0] == "generate") return rto::GenerateCommand(rest(1));
    if (!args.empty() && args[0] == "synth") return rto::SynthCommand(rest(1));
    if (!args.empty() && args[0] == "eval") return rto::EvalCommand(rest(1));
    if (!args.empty() && args[0] == "train") return rto::TrainCommand(rest(1));
    if (!args.empty() && args[0] == "launch") return rto::LaunchCommand(rest(1));
    if (!args.empty() && args[0] == "coordinator") return rto::CoordinatorCommand(rest(1));
    if (!args.empty() && args[0] == "ctl") return rto::CtlCommand(rest(1));
    if (!args.empty() && args[0] == "security") return rto::SecurityCommand(rest(1));
    if (!args.empty() && args[0] == "health") return rto::HealthCommand(rest(1));
    if (!args.empty() && (args[0] == "help" || args[0] == "--help" || args[0] == "-h")) {
      std::cout << kUsage;
      return 0;
    }
  } catch (const std::exception& e) {
    // Library errors come back as absl::Status; an exception here is a bug, reported, not a crash.
    std::cerr << "rto: internal error: " << e.what() << "\n";
    return 1;
  }
  std::cerr << kUsage;
  return 2;
}
