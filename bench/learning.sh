#!/usr/bin/env bash
# The learning study (bench/learning_study.py): SFT, RM and DPO per task and seed; PPO, RTO, GRPO,
# RLOO and the critic-free methods with the DPO token reward, each tuned over 6 configurations (a
# 2x2 grid and 2 steps past its best) on a search seed's validation prompts, then trained to 4x
# the budget on evaluation seeds 0-2, all through `rto launch`. Resumable: a rerun keeps what is
# finished.
# Writes runs/bench-learning/{search.csv,chosen.json,curves.csv,final.csv,summary.md,curves.svg}.
# Usage: bench/learning.sh [bench/learning_study.py arguments, e.g. --tasks count,cipher]
# To report, check or continue the committed study instead of starting afresh, restore its results
# first: python3 bench/learning_archive.py restore docs/learning/results.tar.xz runs/bench-learning
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --build build -j2 --target rto rto-learner rto-critic rto-scorer rto-rollout >/dev/null
# The study runs copies of the binaries and of configs/rto.yaml, so that a rebuild or an edit
# while it runs cannot change them.
bin=runs/bench-learning/bin
mkdir -p "$bin"
cp build/services/rto/rto build/services/rto/rto-{learner,critic,scorer,rollout} configs/rto.yaml "$bin/"
RTO=$bin/rto RTO_CONFIG=$bin/rto.yaml exec python3 bench/learning_study.py runs/bench-learning "$@"
