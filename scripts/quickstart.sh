#!/usr/bin/env bash
# The main job on the embedded default config: installs dependencies, builds, then runs the
# whole pipeline on the synthetic "count" task into runs/quickstart/ (about 5 minutes on 2 cores):
# rto synth -> a tiny Llama carrying the task's tokenizer -> SFT -> reward model and DPO -> PPO and
# RTO with the same number of sampled responses -> rto eval, ending with one table in the shape
# of the RTO paper's (SFT, DPO, PPO, RTO: mean gold reward and win rate against SFT).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/pipeline.sh count 0 runs/quickstart
