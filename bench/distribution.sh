#!/usr/bin/env bash
# The cost of distribution: the same RTO config and seed run in one process (`rto train rto`) and
# as one process per role (`rto launch`: learner, critic, scorer, 2 rollout workers; gRPC and a
# Gloo weight broadcast between them), side by side. Prints the median step time of each (the
# first step, with its warm-up, left out) and their ratio, and checks that both runs end with the
# same weights. Usage: bench/distribution.sh [steps (default 20)] [extra --set overrides ...]
# Needs the models of the quickstart (scripts/quickstart.sh) in runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
shift $(($# < 1 ? $# : 1))
rto=build/services/rto/rto
out=runs/bench-distribution
rm -rf "$out"
common=(--config configs/rto.yaml --set "steps=$steps" --set eval.every=0 --set checkpoint.every=100000 "$@")
"$rto" train rto "${common[@]}" --set "out=$out/one-process" >"$out.one-process.log" 2>&1
"$rto" launch "${common[@]}" --set "out=$out/processes" >"$out.processes.log" 2>&1
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
def load(run):
    return [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl")][1:]
a, b = load("one-process"), load("processes")
print("| stage | one process s | across processes s | ratio |")
print("|---|---:|---:|---:|")
for key in ["time/step_s", "time/generate_s", "time/score_s", "time/policy_logprobs_s", "time/values_s",
            "time/train_policy_s", "time/train_critic_s", "time/weight_sync_s"]:
    x, y = statistics.median(m[key] for m in a), statistics.median(m[key] for m in b)
    print(f"| {key[5:-2]} | {x:.4f} | {y:.4f} | {y / x:.2f}x |")
PY
cmp -s "$out/one-process/final/model.safetensors" "$out/processes/final/model.safetensors" &&
  echo "final weights: bitwise equal" || echo "final weights: DIFFER"
