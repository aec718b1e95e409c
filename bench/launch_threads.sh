#!/usr/bin/env bash
# The thread plan under `rto launch` (learner, critic, scorer, 2 rollout workers and the
# coordinator on this machine): the quickstart's RTO config with the default plan (each
# service's share of the cores) against every intra-op thread count set by hand, from 1 to the
# number of cores, in turn for ROUNDS rounds (default 3). Prints the median step time of each
# (the first step, with its warm-up, left out) and the default's ratio to the best.
# Usage: [ROUNDS=3] bench/launch_threads.sh [steps (default 20)]
# Needs the models of the quickstart (scripts/quickstart.sh) in runs/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
rto=build/services/rto/rto
out=runs/bench-launch-threads
rm -rf "$out" && mkdir -p "$out"
cores=$(python3 -c "import os; print(len(os.sched_getaffinity(0)))")
common=(--config configs/rto.yaml --set "steps=$steps" --set eval.every=0 --set checkpoint.every=100000)
settings=(default $(seq 1 "$cores"))
echo "rto launch, $steps steps, $cores cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-3}"); do
  for s in "${settings[@]}"; do
    extra=()
    [ "$s" = default ] || extra=(--set "threads.intra_op=$s")
    "$rto" launch "${common[@]}" "${extra[@]}" --set "out=$out/$s-$round" >"$out/$s-$round.log" 2>&1
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "${ROUNDS:-3}" "${settings[@]}" <<'PY'
import json, statistics, sys
out, rounds, settings = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
step = {}
for s in settings:
    times = [json.loads(l)["time/step_s"] for r in range(1, rounds + 1)
             for l in list(open(f"{out}/{s}-{r}/metrics.jsonl"))[1:]]
    step[s] = statistics.median(times)
print("| intra-op threads per service | step s |\n|---|---:|")
for s in settings:
    print(f"| {s if s != 'default' else 'default (the plan)'} | {step[s]:.4f} |")
best = min(step[s] for s in settings if s != "default")
print(f"default / best set by hand: {step['default'] / best:.2f}x")
PY
sed -n 's/^launch: \(.*intra-op threads each\)$/the plan: \1/p' "$out/default-1.log"
