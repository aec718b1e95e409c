#!/usr/bin/env bash
# Configures and builds rto (Ninja, ccache, -j2). Extra arguments go to cmake's configure step.
#
#   scripts/build.sh          into ./build, on the CPU LibTorch of scripts/install-deps.sh
#   scripts/build.sh --cuda   into ./build-cuda, on the CUDA LibTorch of
#                             scripts/install-deps.sh --cuda (or the torch of $RTO_TORCH_PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
build=build
args=()
if [ "${1:-}" = "--cuda" ]; then
  shift
  build=build-cuda
  python=${RTO_TORCH_PYTHON:-.deps/cuda-venv/bin/python}
  prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  args=(-DRTO_CUDA=ON "-DCMAKE_PREFIX_PATH=$prefix")
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}" "$@" >/dev/null
cmake --build "$build" -j2
