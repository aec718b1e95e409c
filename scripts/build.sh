#!/usr/bin/env bash
# Configures and builds rto into ./build (Ninja, ccache, -j2). Extra arguments go to cmake's
# configure step, e.g. -DCMAKE_PREFIX_PATH=/path/to/cuda/libtorch for the CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j2
