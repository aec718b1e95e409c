#!/usr/bin/env bash
# The main job on the embedded default config: installs dependencies, builds, then runs the
# pipeline that exists today into runs/quickstart/ (about two minutes on 2 cores):
# the synthetic "count" task is written; a tiny Llama carrying the task's tokenizer is created;
# SFT on the demonstrations, then a reward model and DPO on the preference pairs; the SFT and
# DPO models answer the held-out prompts, and `rto eval` judges them by the gold reward.
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
# configs/{sft,rm,dpo}.yaml point at runs/quickstart/.
"$rto" train sft --config configs/sft.yaml --set train.steps=1000 --set train.lr=2e-3 --set checkpoint.every=500
"$rto" train rm --config configs/rm.yaml
"$rto" train dpo --config configs/dpo.yaml
for m in sft dpo; do
  "$rto" generate --model "$run/$m/final" --prompts "$run/task/eval_prompts.jsonl" --out "$run/$m.samples.jsonl" \
    --temperature 1.0 --max-new-tokens 64 --seed 0
done
echo
echo "SFT demonstrations:"
"$rto" eval --task-dir "$run/task" --samples "$run/task/sft.jsonl" --out "$run/eval_demonstrations.json"
echo "SFT model:"
"$rto" eval --task-dir "$run/task" --samples "$run/sft.samples.jsonl" --out "$run/eval_sft.json"
echo "DPO model (win rate against the SFT model):"
"$rto" eval --task-dir "$run/task" --samples "$run/dpo.samples.jsonl" --baseline "$run/sft.samples.jsonl" \
  --out "$run/eval_dpo.json"
