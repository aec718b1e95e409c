#!/usr/bin/env bash
# libFuzzer over every decoder of bytes from outside (tests/fuzz/README.md), each for SECONDS
# (default 30), built with clang, ASan and UBSan in build-fuzz/. Each target starts from its
# committed seeds (tests/fuzz/corpus/<target>) and what earlier runs found (build-fuzz/corpus);
# a crash, leak, timeout or out-of-memory fails the script and leaves its input in
# build-fuzz/findings/<target>/ (fix the bug, then commit the input into the target's corpus:
# ctest replays it from then on).
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
seconds=${1:-30}
targets=(safetensors_header_fuzz safetensors_index_fuzz model_config_fuzz tokenizer_json_fuzz tokenizer_encode_fuzz
  sentencepiece_model_fuzz jsonl_fuzz config_fuzz wire_fuzz)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DRTO_FUZZ=ON \
  -DRTO_SANITIZE=address,undefined -DRTO_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]}"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/findings/$t"
  if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
      "build-fuzz/tests/fuzz/$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/findings/$t/" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" \
      >"build-fuzz/findings/$t/log" 2>&1; then
    echo "ok    $t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/findings/$t/log" | grep -o '[0-9]*$') runs in ${seconds} s, corpus $(ls "build-fuzz/corpus/$t" | wc -l) inputs"
  else
    echo "FAIL  $t: see build-fuzz/findings/$t/ (log and the input)"
    tail -30 "build-fuzz/findings/$t/log"
    failed=1
  fi
done
exit $failed
