#!/usr/bin/env bash
# Activation checkpointing's cost and saving: build/bench/learner_bench (one forward and backward
# pass of the policy loss on the Qwen2.5-0.5B shape, float32) with every decoder layer recomputed
# in the backward pass and without, in alternating order, ROUNDS times (default 2). Prints the
# median time and peak memory of each and their ratios.
# Usage: [ROUNDS=2] bench/checkpointing.sh [batch (4)] [sequence length (512)]
set -euo pipefail
cd "$(dirname "$0")/.."
batch=${1:-4}
seq=${2:-512}
rounds=${ROUNDS:-2}
log=$(mktemp)
for round in $(seq "$rounds"); do
  for on in 0 1; do
    build/bench/learner_bench "$batch" "$seq" 1 "$on" | sed -n "s/^| \([0-9.]*\) | .* | \([0-9.]*\) |$/$on \1 \2/p" >>"$log"
  done
done
python3 - "$log" "$batch" "$seq" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = lambda on, i: statistics.median(float(r[i]) for r in rows if r[0] == on)
t0, t1, m0, m1 = med("0", 1), med("1", 1), med("0", 2), med("1", 2)
print(f"batch {sys.argv[2]} x {sys.argv[3]} tokens, {len(rows) // 2} rounds")
print("| activation checkpointing | fwd+bwd s | peak memory GiB |\n|---|---:|---:|")
print(f"| off | {t0:.2f} | {m0:.2f} |\n| on | {t1:.2f} | {m1:.2f} |")
print(f"time ratio on/off: {t1 / t0:.2f}x; peak memory ratio on/off: {m1 / m0:.2f}x")
PY
rm -f "$log"
