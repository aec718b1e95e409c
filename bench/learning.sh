#!/usr/bin/env bash
# The learning benchmark: the whole pipeline (scripts/pipeline.sh: SFT, RM, DPO, then PPO and RTO
# with the same number of sampled responses) on each synthetic task and seed, then gold-reward
# learning curves from the evaluation samples PPO and RTO wrote during training. PPO and RTO run in
# one process (--local), as the README's numbers were measured.
# Writes runs/bench-learning/{curves.csv,final.csv,curves.svg,summary.md} and prints the summary.
# Usage: bench/learning.sh [seeds (default "0 1 2")] [tasks (default "lexicon count exact_length")]
#        [extra scripts/pipeline.sh arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-0 1 2}
tasks=${2:-lexicon count exact_length}
shift $(($# < 2 ? $# : 2))
cmake --build build -j2 --target rto >/dev/null
root=runs/bench-learning
mkdir -p "$root"
rto=build/services/rto/rto
for task in $tasks; do
  for seed in $seeds; do
    d=$root/$task-$seed
    scripts/pipeline.sh "$task" "$seed" "$d" --local "$@"
    # Gold reward of every evaluation snapshot along the way.
    for m in ppo rto; do
      for f in "$d/$m"/samples/step-*.jsonl; do
        "$rto" eval --task-dir "$d/task" --samples "$f" --baseline "$d/sft.samples.jsonl" \
          --out "${f%.jsonl}.eval.json" >/dev/null
      done
    done
  done
done
python3 bench/learning_report.py "$root"
