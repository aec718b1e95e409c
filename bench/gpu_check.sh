#!/usr/bin/env bash
# The GPU checks of #13, for a machine with an NVIDIA GPU, PyPI's CUDA PyTorch, CMake and ninja
# but none of rto's other C++ dependencies (the H200 that the `device` tool lends; DESIGN.md
# section 7). Never run yet: no task has been lent the device so far.
#
#   bench/gpu_check.sh --fetch   here, before: downloads Debian's .deb files of the build's C++
#                                dependencies into .deps/debs (carry that folder to the device)
#   bench/gpu_check.sh [OUT]     on the device: unpacks them into .deps/sysroot, builds on the CUDA
#                                LibTorch into build-cuda, and prints (and writes under OUT):
#     1. the test suite on the CUDA build (the CUDA cases of weight_sync_test run on the GPU);
#     2. learner tokens/s and MFU at the 0.5B shape, bf16 and fp32 (learner_bench on cuda; MFU
#        against the matmul peak the benchmark measures, and against the H200's 989 TFLOP/s
#        dense bf16);
#     3. decode tokens/s at batch 1 and 32 (rto generate --device cuda, 0.5B shape);
#     4. the 0.5B-shape RTO job through `rto launch` with device=cuda, all roles on the one GPU
#        (bench/scale_0p5b.sh), its step times and per-process memory.
set -uo pipefail
cd "$(dirname "$0")/.."

packages=(libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libprotoc-dev
  libabsl-dev prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev nlohmann-json3-dev
  libpcre2-dev libutf8proc-dev libgoogle-perftools-dev libgloo-dev)

if [ "${1:-}" = "--fetch" ]; then
  mkdir -p .deps/debs
  # The packages and the libraries they need, without the C runtime every machine has.
  deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "${packages[@]}" | grep -E '^[a-z0-9]' | sort -u |
    grep -vE '^(libc6|libgcc|libstdc\+\+|gcc|g\+\+|cpp|binutils|perl|python|debconf|dpkg|tar|coreutils)')
  (cd .deps/debs && apt-get download $deps)
  du -sh .deps/debs
  exit 0
fi

out=${1:-$PWD/runs/gpu-check}
mkdir -p "$out"
log() { echo "== $*" | tee -a "$out/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"

log "1. build on the CUDA LibTorch"
sysroot=$PWD/.deps/sysroot
mkdir -p "$sysroot"
for deb in .deps/debs/*.deb; do dpkg -x "$deb" "$sysroot"; done
export PATH=$sysroot/usr/bin:$PATH
export LD_LIBRARY_PATH=$sysroot/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export PKG_CONFIG_PATH=$sysroot/usr/lib/x86_64-linux-gnu/pkgconfig:$sysroot/usr/share/pkgconfig
torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
RTO_TORCH_PYTHON=python3 scripts/build.sh --cuda "-DCMAKE_PREFIX_PATH=$torch_prefix;$sysroot/usr" \
  "-DCMAKE_CXX_FLAGS=-isystem $sysroot/usr/include" >"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 1; }
rto=build-cuda/services/rto/rto

log "2. the test suite on the CUDA build"
ctest --test-dir build-cuda -j8 --timeout 900 2>&1 | tail -5 | tee -a "$out/summary.txt"

log "3. learner fwd+bwd at the 0.5B shape on cuda (8 x 512 tokens)"
for dtype in bfloat16 float32; do
  build-cuda/bench/learner_bench 8 512 5 0 "$dtype" cuda | tee "$out/learner-$dtype.txt" | tail -3
done
python3 - "$out" <<'PY' | tee -a "$out/summary.txt"
import re, sys
for dtype in ("bfloat16", "float32"):
    row = open(f"{sys.argv[1]}/learner-{dtype}.txt").read().strip().splitlines()[-1].split("|")
    tokens_s, gflops = float(row[2]), float(row[3])
    print(f"{dtype}: {tokens_s:.0f} tokens/s, {gflops / 1000:.1f} TFLOP/s, {row[5].strip()} of the measured matmul "
          f"peak, {100 * gflops / 989e3:.1f}% of 989 TFLOP/s (H200 dense bf16)")
PY

log "4. decode at the 0.5B shape on cuda"
bench/scale_0p5b.sh "$out/scale" --models-only >/dev/null 2>&1 || true
python3 -c "
import json
for i in range(64): print(json.dumps({'prompt_ids': [3 + (i * 7 + j) % 50 for j in range(16)]}))" >"$out/prompts.jsonl"
for batch in 1 32; do
  "$rto" generate --model "$out/scale/policy" --prompts "$out/prompts.jsonl" --out "$out/generated-$batch.jsonl" \
    --max-new-tokens 128 --batch-size "$batch" --device cuda --dtype bfloat16 | tee -a "$out/summary.txt"
done

log "5. the 0.5B-shape RTO job through rto launch, device=cuda"
RTO_BUILD=build-cuda bench/scale_0p5b.sh "$out/scale" --set device=cuda --set actor.precision=bf16 \
  --set critic.precision=bf16 --set rollout.max_new_tokens=128 | tee -a "$out/summary.txt"
