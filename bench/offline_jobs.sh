#!/usr/bin/env bash
# The offline pipeline on every synthetic task: synth -> SFT -> RM and DPO -> eval, with wall
# times and training throughput. Prints one markdown table (the README's) and leaves the runs
# in runs/bench-offline/. Usage: bench/offline_jobs.sh [sft_steps] [rm_dpo_steps] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
sft_steps=${1:-1000}
pref_steps=${2:-200}
seed=${3:-0}
rto=build/services/rto/rto
cmake --build build -j2 --target rto >/dev/null
root=runs/bench-offline
rm -rf "$root"
rows=()
for task in lexicon count exact_length; do
  d=$root/$task
  "$rto" synth --task "$task" --out "$d/task" --seed "$seed" >/dev/null
  "$rto" model init --config "$d/task/model_config.json" --tokenizer "$d/task/tokenizer" --out "$d/init" --seed "$seed" >/dev/null
  common=(--set "train.seed=$seed" --set "data=$d/task/sft.jsonl")
  t0=$(date +%s.%N)
  "$rto" train sft --config configs/sft.yaml --set "model=$d/init" --set "out=$d/sft" "${common[@]}" \
    --set "train.steps=$sft_steps" --set train.lr=2e-3 --set checkpoint.every=100000 >/dev/null 2>&1
  t1=$(date +%s.%N)
  "$rto" train rm --config configs/rm.yaml --set "model=$d/sft/final" --set "data=$d/task/preferences.jsonl" \
    --set "out=$d/rm" --set "train.steps=$pref_steps" --set checkpoint.every=100000 >/dev/null 2>&1
  t2=$(date +%s.%N)
  "$rto" train dpo --config configs/dpo.yaml --set "model=$d/sft/final" --set "data=$d/task/preferences.jsonl" \
    --set "out=$d/dpo" --set "train.steps=$pref_steps" --set checkpoint.every=100000 >/dev/null 2>&1
  t3=$(date +%s.%N)
  for m in sft dpo; do
    "$rto" generate --model "$d/$m/final" --prompts "$d/task/eval_prompts.jsonl" --out "$d/$m.samples.jsonl" \
      --temperature 1.0 --max-new-tokens 64 --seed "$seed" >/dev/null
  done
  "$rto" eval --task-dir "$d/task" --samples "$d/sft.samples.jsonl" --out "$d/sft.eval.json" >/dev/null
  "$rto" eval --task-dir "$d/task" --samples "$d/dpo.samples.jsonl" --baseline "$d/sft.samples.jsonl" \
    --out "$d/dpo.eval.json" >/dev/null
  "$rto" eval --task-dir "$d/task" --samples "$d/task/sft.jsonl" --out "$d/demos.eval.json" >/dev/null
  rows+=("$(python3 - "$d" "$t0" "$t1" "$t2" "$t3" <<'PY'
import json, sys
d, t0, t1, t2, t3 = sys.argv[1], *map(float, sys.argv[2:])
ev = lambda f: json.load(open(f"{d}/{f}"))
def tps(run):
    lines = [json.loads(l) for l in open(f"{d}/{run}/metrics.jsonl")]
    tokens = sum(l.get("tokens", 0) for l in lines); secs = sum(l["step_seconds"] for l in lines)
    return tokens / secs
demo, sft, dpo, rm = ev("demos.eval.json"), ev("sft.eval.json"), ev("dpo.eval.json"), ev("rm/eval.json")
print(f"| {d.split('/')[-1]} | {demo['mean_gold']:.2f} | {sft['mean_gold']:.2f} +- {sft['gold_ci95']:.2f} | "
      f"{dpo['mean_gold']:.2f} +- {dpo['gold_ci95']:.2f} | {dpo['win_rate']:.2f} +- {dpo['win_ci95']:.2f} | "
      f"{sft['ideal_mean_gold']:.2f} | {rm['eval_accuracy']:.2f} | {t1-t0:.0f} / {t2-t1:.0f} / {t3-t2:.0f} | "
      f"{tps('sft'):.0f} / {tps('rm'):.0f} / {tps('dpo'):.0f} |")
PY
)")
done
echo "| task | demos | SFT | DPO | DPO win vs SFT | best | RM held-out acc | wall s (SFT / RM / DPO) | tokens/s (SFT / RM / DPO) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
