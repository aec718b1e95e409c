#!/usr/bin/env bash
# Builds and runs the model-core benchmark, then prints decode tokens/s with and without the
# KV cache side by side (one run, medians of repetitions) and their ratio.
# Usage: bench/run_model_bench.sh [build dir, default build]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake --build "$build" -j2 --target model_bench >/dev/null
out=$(mktemp)
"$build/bench/model_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5 --benchmark_out="$out" --benchmark_out_format=json
python3 - "$out" <<'PY'
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"] if b.get("aggregate_name") == "median"}
print("\nmedian tokens/s          batch 1    batch 8   batch 32")
for name in ("BM_Forward", "BM_DecodeCached", "BM_DecodeUncached"):
    row = [runs[f"{name}/{b}/real_time"]["tokens_per_s"] for b in (1, 8, 32)]
    print(f"{name:<22}" + "".join(f"{v:>11.0f}" for v in row))
ratios = [runs[f"BM_DecodeCached/{b}/real_time"]["tokens_per_s"] / runs[f"BM_DecodeUncached/{b}/real_time"]["tokens_per_s"] for b in (1, 8, 32)]
print("cached / uncached     " + "".join(f"{r:>10.2f}x" for r in ratios))
PY
