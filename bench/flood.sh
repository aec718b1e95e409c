#!/usr/bin/env bash
# The flood test (bench/flood.cc) against a real `rto launch` on loopback, next to the same run
# undisturbed: the flood's answers by code (every one a deliberate refusal or a success), the
# peak memory (VmHWM) of each service in both runs, and whether the flooded run still ends with
# the undisturbed run's final weights, bitwise.
# Usage: bench/flood.sh [threads (16)] [steps (24)]     (BUILD: the build dir, default build)
set -uo pipefail
cd "$(dirname "$0")/.."
threads=${1:-16} steps=${2:-24}
build=${BUILD:-build}
rto=$build/services/rto/rto
tmp=$(mktemp -d)
trap 'pkill -f "$tmp/" 2>/dev/null; rm -rf "$tmp"' EXIT
w=$tmp/world
"$rto" synth --task count --out "$w/task" --seed 1 --sft-rows 200 --preference-rows 200 >/dev/null
"$rto" model init --config "$w/task/model_config.json" --out "$w/init" --tokenizer "$w/task/tokenizer" >/dev/null
short=(--set train.steps=3 --set train.micro_batch=4 --set checkpoint.every=100)
"$rto" train sft --config configs/sft.yaml --set "model=$w/init" --set "data=$w/task/sft.jsonl" --set "out=$w/sft" \
  "${short[@]}" >/dev/null
pref=(--set "model=$w/sft/final" --set "data=$w/task/preferences.jsonl" "${short[@]}")
"$rto" train rm --config configs/rm.yaml "${pref[@]}" --set "out=$w/rm" >/dev/null
"$rto" train dpo --config configs/dpo.yaml "${pref[@]}" --set "out=$w/dpo" >/dev/null
# Messages above 4 MB are refused: the flood's oversize prompts are 8 MB.
run=(--config configs/rto.yaml --set "models.policy=$w/sft/final" --set "models.dpo=$w/dpo/final"
  --set "models.reward=$w/rm/final" --set "prompts=$w/task/rl_prompts.jsonl" --set "eval_prompts=$w/task/eval_prompts.jsonl"
  --set "steps=$steps" --set eval.every=0 --set checkpoint.every=1000 --set threads.intra_op=1
  --set launch.max_message_mb=4)

# peak_memory OUT_DIR: the largest VmHWM (MiB) of each service of the run in OUT_DIR, polled
# until its launcher exits; prints "service MiB" lines.
peak_memory() {
  local out=$1 launcher=$2
  declare -A peak
  while kill -0 "$launcher" 2>/dev/null; do
    for pid in $(pgrep -f "$out/logs/services.yaml"); do
      local name kb
      name=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/.*--name \([^ ]*\).*/\1/p')
      kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null)
      [ -n "$name" ] && [ -n "$kb" ] && [ "$kb" -gt "${peak[$name]:-0}" ] && peak[$name]=$kb
    done
    sleep 0.2
  done
  for name in "${!peak[@]}"; do echo "$name $((peak[$name] / 1024))"; done | sort
}

"$rto" launch "${run[@]}" --set "out=$tmp/quiet" >"$tmp/quiet.out" 2>&1 &
quiet=$!
peak_memory "$tmp/quiet" "$quiet" >"$tmp/quiet.mem"
wait "$quiet" || { echo "flood: the undisturbed run failed"; tail -20 "$tmp/quiet.out"; exit 1; }

"$rto" launch "${run[@]}" --set "out=$tmp/flooded" >"$tmp/flooded.out" 2>&1 &
flooded=$!
for _ in $(seq 600); do grep -q "step 1/" "$tmp/flooded.out" 2>/dev/null && break; sleep 0.1; done
peak_memory "$tmp/flooded" "$flooded" >"$tmp/flooded.mem" &
memory=$!
"$build/bench/flood" --run "$tmp/flooded" --threads "$threads" --seconds 20 --oversize-mb 8 >"$tmp/flood.out" 2>&1
flood_rc=$?
wait "$flooded"
run_rc=$?
wait "$memory"
cat "$tmp/flood.out"
echo
echo "| service | peak memory undisturbed MiB | flooded MiB |"
echo "|---|---:|---:|"
join "$tmp/quiet.mem" "$tmp/flooded.mem" | awk '{printf "| %s | %d | %d |\n", $1, $2, $3}'
same=no
cmp -s "$tmp/quiet/final/model.safetensors" "$tmp/flooded/final/model.safetensors" && same=yes
echo
echo "flooded run exit $run_rc; final weights equal to the undisturbed run's: $same"
[ "$run_rc" -eq 0 ] || tail -25 "$tmp/flooded.out"
grep "weights verified" "$tmp/flooded.out"
test "$flood_rc" -eq 0 -a "$run_rc" -eq 0 -a "$same" = yes
