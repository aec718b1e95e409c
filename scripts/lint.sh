#!/usr/bin/env bash
# Style and static checks: clang-format on every C++ file, clang-tidy (.clang-tidy) on the
# torch-free units (with clang's thread-safety analysis on the classes that lock), and at most 60
# lines per function in common/actors, common/rpc and services.
# LibTorch units are left to the compiler's warnings: clang-tidy cannot read the GCC precompiled
# header they share. Needs a configured build/ (compile_commands.json).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h')
clang-format --dry-run --Werror $files
torch_free=$(git ls-files 'common/util/*.cc' 'common/safetensors/*.cc' 'common/tokenizer/*.cc' 'common/data/*.cc' \
  'common/synth/*.cc' 'common/model/config.cc' 'services/rto/synth_commands.cc' \
  'common/weight_sync/shared_memory_ring.cc' 'common/security/*.cc')
clang-tidy -p build --quiet --warnings-as-errors='*' $torch_free
# Clang's thread-safety analysis (ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED) on the torch-free
# classes that hold a mutex: the mailbox, the metrics registry, the weight plan, the control plane.
clang-tidy -p build --quiet --warnings-as-errors='*' --extra-arg=-Wthread-safety \
  common/rpc/mailbox.cc common/rpc/metrics.cc common/rpc/weight_plan.cc services/coordinator/control_plane.cc \
  services/coordinator/worker_agent.cc
# Short functions where the distributed system lives: stages with names, not long bodies.
scripts/check_function_length.py --max 60 $(git ls-files 'common/actors/*.cc' 'common/rpc/*.cc' 'services/*.cc' \
  'services/*/*.cc')
echo "lint: clean"
