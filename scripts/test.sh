#!/usr/bin/env bash
# The test command: installs dependencies, builds everything on the CPU LibTorch and runs every
# test through ctest (compose_test among them: the compose stack in podman containers); the torch-free tests again under ASan and UBSan, and the threaded ones
# (mailbox, metrics, clients, control plane) under TSan (scripts/sanitize.sh);
# every fuzz target for 30 s (scripts/fuzz.sh); then builds every target again on the CUDA
# LibTorch (PyPI torch with its CUDA libraries), which must compile and link though this machine
# has no GPU to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --cuda
scripts/install-deploy-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 900
scripts/sanitize.sh address
scripts/sanitize.sh thread
scripts/fuzz.sh 30
scripts/build.sh --cuda
echo "test: every test passed, sanitizer- and fuzz-clean; the CUDA build links every target"
