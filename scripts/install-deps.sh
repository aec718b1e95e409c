#!/usr/bin/env bash
# Installs every build and run dependency of rto: the C++ libraries from Debian bookworm's
# packages, and LibTorch from PyPI's `torch` wheel (pinned) into .deps/ of this checkout.
#
#   scripts/install-deps.sh          the CPU build: the torch wheel without its CUDA
#                                    dependencies (about 550 MB to download), plus the CUDA
#                                    runtime and CUPTI stubs that libtorch_cpu.so is linked against
#   scripts/install-deps.sh --cuda   also a venv with torch and all its CUDA libraries (about
#                                    3 GB more), for scripts/build.sh --cuda
#
# Idempotent: what is present is skipped, so a second run takes a second.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.15.0
# The CUDA runtime that torch 2.15.0's wheel names (its cuda-toolkit==13.2.2 requirement).
CUDA_RUNTIME_VERSION=13.2.86
cuda=0
[ "${1:-}" = "--cuda" ] && cuda=1

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libgloo-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libssl-dev
  libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  libyaml-cpp-dev nlohmann-json3-dev
  libpcre2-dev libutf8proc-dev libgoogle-perftools-dev
  python3 python3-pip python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#packages[@]} Debian packages present"

# pip of whichever python3 comes first (a pyenv or Debian's); PIP_BREAK_SYSTEM_PACKAGES lets
# Debian's pip write into a --target folder, which touches no system package.
pip_install() { PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "$@"; }

libtorch=.deps/libtorch-$TORCH_VERSION
if [ ! -f "$libtorch/.complete" ]; then
  rm -rf "$libtorch"
  pip_install --no-deps --target "$libtorch" "torch==$TORCH_VERSION" \
    "nvidia-cuda-runtime==$CUDA_RUNTIME_VERSION" "nvidia-cuda-cupti==$CUDA_RUNTIME_VERSION"
  touch "$libtorch/.complete"
fi
echo "install-deps: LibTorch $TORCH_VERSION (CPU) in $libtorch/torch"

# TensorBoard's Python reader, with which the tests read the event files runs write.
TENSORBOARD_VERSION=2.21.0
tensorboard=.deps/tensorboard-$TENSORBOARD_VERSION
if [ ! -f "$tensorboard/.complete" ]; then
  rm -rf "$tensorboard"
  pip_install --target "$tensorboard" "tensorboard==$TENSORBOARD_VERSION"
  touch "$tensorboard/.complete"
fi
echo "install-deps: TensorBoard $TENSORBOARD_VERSION (Python, for the tests) in $tensorboard"

if ((cuda)); then
  venv=.deps/cuda-venv
  if [ ! -f "$venv/.complete-$TORCH_VERSION" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore "torch==$TORCH_VERSION"
    touch "$venv/.complete-$TORCH_VERSION"
  fi
  echo "install-deps: LibTorch $TORCH_VERSION with CUDA in $venv"
fi
