#!/usr/bin/env bash
# The data-parallel learner against one rank at Qwen2.5-0.5B's shape (build/bench/data_parallel_bench):
# the training step of one global batch (forward, backward, gradient sum, ZeRO-1 AdamW, weight
# broadcast) by 1 process with every core, and by 2 processes with half of them each, in
# interleaved rounds. Prints a table of medians; each row is one round.
# Usage: bench/data_parallel.sh [batch (4)] [sequence length (128)] [rounds (2)] [precision (fp32)]
set -euo pipefail
cd "$(dirname "$0")/.."
batch=${1:-4} seq=${2:-128} rounds=${3:-2} precision=${4:-fp32}
bench=build/bench/data_parallel_bench
cores=$(python3 -c "import os; print(len(os.sched_getaffinity(0)))")
port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
echo "data-parallel learner step, Qwen2.5-0.5B shape, batch $batch x $seq tokens, $cores cores, median of 3 steps"
echo
echo "| ranks | precision | step s | compute s | sum+update+broadcast s | tokens/s | GFLOP/s | matmul peak GFLOP/s | efficiency | peak memory per rank GiB |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for _ in $(seq "$rounds"); do
  for ranks in 1 2; do
    p=$(port)
    pids=()
    for rank in $(seq 0 $((ranks - 1))); do
      OMP_NUM_THREADS=$((cores / ranks > 0 ? cores / ranks : 1)) "$bench" "$rank" "$ranks" "$p" "$batch" "$seq" 3 \
        "$precision" &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
  done
done
