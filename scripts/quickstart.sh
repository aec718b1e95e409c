#!/usr/bin/env bash
# The main job on the embedded default config: installs dependencies, builds, then runs
# what the system can do today into runs/quickstart/: a tiny Llama is created, validated,
# and sampled from with the batched KV-cache engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
rto=build/services/rto/rto
run=runs/quickstart
rm -rf "$run" && mkdir -p "$run"
"$rto" model init --config configs/models/tiny-llama.json --out "$run/model" --seed 0
"$rto" model inspect "$run/model"
"$rto" generate --model "$run/model" --prompts configs/quickstart/prompts.jsonl --out "$run/samples.jsonl" \
  --temperature 0.8 --top-p 0.95 --max-new-tokens 32 --seed 0
echo "first sample:"
head -n 1 "$run/samples.jsonl"
