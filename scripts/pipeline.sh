#!/usr/bin/env bash
# The whole pipeline on one synthetic task, into one directory:
#   rto synth -> model init -> SFT -> reward model and DPO -> PPO and RTO (same sample budget)
#   -> every model answers the held-out prompts -> rto eval -> a table in the paper's shape.
# Usage: scripts/pipeline.sh TASK SEED OUT_DIR [--sft-steps N] [--rl-steps N] [--local] [--models-only]
#        [--set key=value ...]
# (--set overrides apply to both PPO and RTO, e.g. --set kl.coef=0.05). PPO and RTO run through
# `rto launch` (one process per role) unless --local. --models-only stops after SFT, RM and DPO
# (what an RTO run needs; deploy/ uses it). Needs a built rto ($RTO, default build/services/rto/rto).
set -euo pipefail
cd "$(dirname "$0")/.."
task=$1 seed=$2 out=$3
shift 3
sft_steps=1000 rl_steps=60 rl_sets=() local=0 models_only=0
while (($#)); do
  case $1 in
    --sft-steps) sft_steps=$2; shift 2 ;;
    --rl-steps) rl_steps=$2; shift 2 ;;
    --set) rl_sets+=(--set "$2"); shift 2 ;;
    --local) local=1; shift ;;
    --models-only) models_only=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
rto=${RTO:-build/services/rto/rto}
rm -rf "$out" && mkdir -p "$out"
log() { echo "[$(date +%H:%M:%S)] $*"; }
# Runs one stage quietly, keeping its output in $out/logs/<name>.log and its wall time.
declare -A wall
stage() {
  local name=$1; shift
  mkdir -p "$out/logs"
  local t0=$(date +%s.%N)
  if ! "$@" >"$out/logs/$name.log" 2>&1; then
    echo "stage $name failed; the end of $out/logs/$name.log:" >&2
    tail -n 20 "$out/logs/$name.log" >&2
    exit 1
  fi
  wall[$name]=$(awk "BEGIN { print $(date +%s.%N) - $t0 }")
  log "$name done in ${wall[$name]%.*} s"
}

stage synth "$rto" synth --task "$task" --out "$out/task" --seed "$seed"
stage init "$rto" model init --config "$out/task/model_config.json" --tokenizer "$out/task/tokenizer" \
  --out "$out/init" --seed "$seed"
stage sft "$rto" train sft --config configs/sft.yaml --set "model=$out/init" --set "data=$out/task/sft.jsonl" \
  --set "out=$out/sft" --set "train.steps=$sft_steps" --set train.lr=2e-3 --set "train.seed=$seed" \
  --set checkpoint.every=100000
pref=(--set "model=$out/sft/final" --set "data=$out/task/preferences.jsonl" --set "train.seed=$seed"
  --set checkpoint.every=100000)
stage rm "$rto" train rm --config configs/rm.yaml "${pref[@]}" --set "out=$out/rm"
stage dpo "$rto" train dpo --config configs/dpo.yaml "${pref[@]}" --set "out=$out/dpo"
((models_only)) && exit 0
rl=(--set "models.policy=$out/sft/final" --set "models.dpo=$out/dpo/final"
  --set "models.reward=$out/rm/final" --set "prompts=$out/task/rl_prompts.jsonl"
  --set "eval_prompts=$out/task/eval_prompts.jsonl" --set "steps=$rl_steps" --set "seed=$seed"
  --set checkpoint.every=100000 "${rl_sets[@]}")
# PPO and RTO run distributed: one process per role (rto launch), with the same results, bitwise,
# as `rto train ppo|rto` in one process. --local runs them in one process instead. Each with its
# own tuned settings (configs/ppo.yaml lays PPO's over configs/rto.yaml).
if ((local)); then
  stage ppo "$rto" train ppo --config configs/ppo.yaml "${rl[@]}" --set "out=$out/ppo"
  stage rto "$rto" train rto --config configs/rto.yaml "${rl[@]}" --set "out=$out/rto"
else
  stage ppo "$rto" launch --config configs/ppo.yaml "${rl[@]}" --set "out=$out/ppo"
  stage rto "$rto" launch --config configs/rto.yaml "${rl[@]}" --set "out=$out/rto"
fi

# Every model answers the same held-out prompts with the same sampling streams.
for m in sft dpo ppo rto; do
  "$rto" generate --model "$out/$m/final" --prompts "$out/task/eval_prompts.jsonl" --out "$out/$m.samples.jsonl" \
    --temperature 1.0 --max-new-tokens 64 --seed "$seed" >/dev/null
  "$rto" eval --task-dir "$out/task" --samples "$out/$m.samples.jsonl" --baseline "$out/sft.samples.jsonl" \
    --out "$out/$m.eval.json" >/dev/null
done
{
  echo "{"
  for k in "${!wall[@]}"; do echo "  \"$k\": ${wall[$k]},"; done
  echo "  \"task\": \"$task\", \"seed\": $seed"
  echo "}"
} >"$out/wall_seconds.json"
python3 scripts/pipeline_table.py "$out"
