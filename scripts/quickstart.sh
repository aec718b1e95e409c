#!/usr/bin/env bash
# The main job on the embedded default config: installs dependencies, builds, then runs what
# the system can do today into runs/quickstart/: the synthetic "count" task is written, a tiny
# Llama carrying the task's tokenizer is created and validated, it answers the held-out eval
# prompts through the chat template with the batched KV-cache sampler, and `rto eval` judges
# the answers and the task's SFT demonstrations by the gold reward.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
rto=build/services/rto/rto
run=runs/quickstart
rm -rf "$run" && mkdir -p "$run"
"$rto" synth --task count --out "$run/task" --seed 0
"$rto" model init --config "$run/task/model_config.json" --tokenizer "$run/task/tokenizer" --out "$run/model" --seed 0
"$rto" model inspect "$run/model"
"$rto" generate --model "$run/model" --prompts "$run/task/eval_prompts.jsonl" --out "$run/samples.jsonl" \
  --temperature 0.8 --top-p 0.95 --max-new-tokens 32 --seed 0
echo "untrained model:"
"$rto" eval --task-dir "$run/task" --samples "$run/samples.jsonl" --out "$run/eval_untrained.json"
echo "SFT demonstrations:"
"$rto" eval --task-dir "$run/task" --samples "$run/task/sft.jsonl" --out "$run/eval_demonstrations.json"
