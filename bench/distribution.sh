#!/usr/bin/env bash
# The cost of distribution: the same RTO config and seed run in one process (`rto train rto`) and
# as one process per role (`rto launch`: learner, critic, scorer, 2 rollout workers; gRPC and a
# shared-memory weight broadcast between them), side by side, and across processes again with the rollout
# generating the next batch while the learner trains (rollout.max_staleness 1). Prints the median
# time per stage of each (the first step, with its warm-up, left out) and the ratios to one
# process, and checks that the on-policy runs end with the same weights (when every process used
# the same intra-op thread count: --set threads.intra_op=1). The three run in turn,
# ROUNDS times (default 3), and the medians pool every round, so that a noisy neighbour on a
# shared machine lands on all three alike.
# Usage: [ROUNDS=3] bench/distribution.sh [steps (default 20)] [extra --set overrides ...]
# Needs the models of the quickstart (scripts/quickstart.sh) in runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
shift $(($# < 1 ? $# : 1))
rto=build/services/rto/rto
out=runs/bench-distribution
rm -rf "$out"
common=(--config configs/rto.yaml --set "steps=$steps" --set eval.every=0 --set checkpoint.every=100000 "$@")
rounds=${ROUNDS:-3}
for round in $(seq "$rounds"); do
  "$rto" train rto "${common[@]}" --set "out=$out/one-process-$round" >"$out.one-process.log" 2>&1
  "$rto" launch "${common[@]}" --set "out=$out/processes-$round" >"$out.processes.log" 2>&1
  "$rto" launch "${common[@]}" --set "out=$out/ahead-$round" --set rollout.max_staleness=1 >"$out.ahead.log" 2>&1
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(run):
    return [json.loads(l) for r in range(1, rounds + 1) for l in list(open(f"{out}/{run}-{r}/metrics.jsonl"))[1:]]
a, b, c = load("one-process"), load("processes"), load("ahead")
print("| stage | one process s | across processes s | ratio | one batch ahead s | ratio |")
print("|---|---:|---:|---:|---:|---:|")
for key in ["time/step_s", "time/generate_s", "time/generate_wait_s", "time/score_s", "time/policy_logprobs_s",
            "time/values_s", "time/train_policy_s", "time/train_critic_s", "time/weight_sync_s"]:
    x, y, z = (statistics.median(m[key] for m in run) for run in (a, b, c))
    print(f"| {key[5:-2]} | {x:.4f} | {y:.4f} | {y / max(x, 1e-9):.2f}x | {z:.4f} | {z / max(x, 1e-9):.2f}x |")
rm = lambda run: statistics.mean(m["reward/rm_score"] for m in run[-5:])  # the last round's last 5 steps
print(f"RM score, mean of the last 5 steps: {rm(a):.3f} one process, {rm(b):.3f} across processes, "
      f"{rm(c):.3f} one batch ahead")
PY
# Float results depend on the intra-op thread count, so the weights are compared only when the
# one process and every service used the same (e.g. with --set threads.intra_op=1).
one=$(sed -n 's/^threads: \([0-9]*\) intra-op$/\1/p' "$out.one-process.log")
each=$(sed -n 's/^launch: [0-9]* services, \([0-9]*\) intra-op threads each$/\1/p' "$out.processes.log")
if [ "$one" != "$each" ]; then
  echo "final weights: not compared (one process ran $one intra-op threads, each service $each)"
elif cmp -s "$out/one-process-1/final/model.safetensors" "$out/processes-1/final/model.safetensors"; then
  echo "final weights: bitwise equal"
else
  echo "final weights: DIFFER"
fi
