#!/usr/bin/env bash
# End-to-end checks of the `rto` binary as a user runs it: model init -> inspect -> generate,
# synth -> eval, SFT -> RM, DPO -> RTO, PPO, and the errors a user sees for bad input. Usage: cli_test.sh PATH/TO/rto SOURCE_DIR
set -u
rto=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
contains() { grep -q -- "$2" "$1"; }

"$rto" model init --config "$src/configs/models/tiny-llama.json" --out "$tmp/m" --seed 3 >"$tmp/init.out" 2>&1
check "init exits 0" test $? -eq 0
check "init writes HF files" test -f "$tmp/m/config.json" -a -f "$tmp/m/model.safetensors"

"$rto" model inspect "$tmp/m" >"$tmp/inspect.out" 2>&1
check "inspect exits 0" test $? -eq 0
check "inspect names the architecture" contains "$tmp/inspect.out" "LlamaForCausalLM"
check "inspect counts parameters" contains "$tmp/inspect.out" "parameters        158016"

printf '{"prompt_ids":[1,5,6,7]}\n{"prompt_ids":[1,9]}\n{"prompt_ids":[1,3,3,3,3,3]}\n' >"$tmp/prompts.jsonl"
"$rto" generate --model "$tmp/m" --prompts "$tmp/prompts.jsonl" --out "$tmp/a.jsonl" --temperature 0.8 \
  --top-p 0.9 --max-new-tokens 12 --seed 5 --batch-size 3 >"$tmp/gen.out" 2>&1
check "generate exits 0" test $? -eq 0
check "generate writes one line per prompt" test "$(wc -l <"$tmp/a.jsonl")" -eq 3
"$rto" generate --model "$tmp/m" --prompts "$tmp/prompts.jsonl" --out "$tmp/b.jsonl" --temperature 0.8 \
  --top-p 0.9 --max-new-tokens 12 --seed 5 --batch-size 1 >/dev/null 2>&1
ids() { grep -o '"response_ids":\[[^]]*\]' "$1"; }
check "samples do not depend on the batch size" test "$(ids "$tmp/a.jsonl")" = "$(ids "$tmp/b.jsonl")"
"$rto" generate --model "$tmp/m" --prompts "$tmp/prompts.jsonl" --out "$tmp/c.jsonl" --temperature 0.8 \
  --top-p 0.9 --max-new-tokens 12 --seed 6 >/dev/null 2>&1
check "another seed gives other samples" test "$(ids "$tmp/a.jsonl")" != "$(ids "$tmp/c.jsonl")"

# Bad input: a clear error naming what and where, a non-zero exit, no crash.
cp -r "$tmp/m" "$tmp/bad"
head -c 1000 "$tmp/m/model.safetensors" >"$tmp/bad/model.safetensors"
"$rto" model inspect "$tmp/bad" >"$tmp/bad.out" 2>&1
check "inspect of a truncated file exits 1" test $? -eq 1
check "the error names the file" contains "$tmp/bad.out" "bad/model.safetensors: invalid safetensors"

printf '{"prompt_ids":[1,2]}\n{"prompt_ids":"oops"}\n' >"$tmp/badprompts.jsonl"
"$rto" generate --model "$tmp/m" --prompts "$tmp/badprompts.jsonl" --out "$tmp/x.jsonl" >"$tmp/bp.out" 2>&1
check "a bad prompt line exits 1" test $? -eq 1
check "the error names file:line" contains "$tmp/bp.out" "badprompts.jsonl:2: 'prompt_ids' must be"
check "nothing is written on error" test ! -e "$tmp/x.jsonl"

printf '{"prompt_ids":[1,999]}\n' >"$tmp/oov.jsonl"
"$rto" generate --model "$tmp/m" --prompts "$tmp/oov.jsonl" --out "$tmp/x.jsonl" >"$tmp/oov.out" 2>&1
check "an out-of-vocabulary id is named" contains "$tmp/oov.out" "token id 999 is outside the vocabulary"

"$rto" model init --config "$src/configs/models/tiny-llama.json" --out "$tmp/z" --sed 1 >"$tmp/flag.out" 2>&1
check "an unknown flag is an error" contains "$tmp/flag.out" "unknown flag --sed (did you mean --seed?)"

# The command line's conventions: every command answers --help on stdout with exit 0 (nothing
# run), `rto help CMD` too, --version names the LibTorch, an unknown command is exit 2.
for cmd in "model init" "model inspect" generate tokenize synth eval "train sft" plot launch coordinator "ctl status" \
  "security init" health; do
  # shellcheck disable=SC2086
  "$rto" $cmd --help >"$tmp/help.out" 2>"$tmp/help.err"
  check "rto $cmd --help exits 0 with its usage" test $? -eq 0 -a ! -s "$tmp/help.err"
  check "rto $cmd --help shows its own synopsis" contains "$tmp/help.out" "^  $cmd"
done
"$rto" help generate >"$tmp/help.out" 2>&1
check "rto help generate shows generate's flags" contains "$tmp/help.out" "--max-new-tokens"
"$rto" --version >"$tmp/version.out" 2>&1
check "rto --version names rto and the LibTorch" test $? -eq 0 -a "$(grep -c -e '^rto [0-9]' -e '^LibTorch 2\.' "$tmp/version.out")" -eq 2
"$rto" bogus >"$tmp/bogus.out" 2>&1
check "an unknown command exits 2 naming it" test $? -eq 2
check "and says which" contains "$tmp/bogus.out" "unknown command 'bogus'"
"$(dirname "$rto")/rto-learner" --help >"$tmp/help.out" 2>&1
check "rto-learner --help exits 0 with its usage" test $? -eq 0
check "rto-learner --help shows its flags" contains "$tmp/help.out" "--rendezvous HOST:PORT"

# The synthetic benchmark: a task's world, then its SFT demonstrations judged by the gold reward.
"$rto" synth --task count --out "$tmp/count" --seed 2 --sft-rows 300 --preference-rows 300 >"$tmp/synth.out" 2>&1
check "synth exits 0" test $? -eq 0
check "synth writes the data, tokenizer and model config" test -f "$tmp/count/preferences.jsonl" \
  -a -f "$tmp/count/tokenizer/tokenizer.json" -a -f "$tmp/count/model_config.json"
"$rto" model init --config "$tmp/count/model_config.json" --out "$tmp/count/init" --tokenizer "$tmp/count/tokenizer" \
  >/dev/null 2>&1
check "the task's model config makes a model that carries the tokenizer" test -f "$tmp/count/init/tokenizer.json"
"$rto" generate --model "$tmp/count/init" --prompts "$tmp/count/eval_prompts.jsonl" --out "$tmp/count/gen.jsonl" \
  --max-new-tokens 16 >"$tmp/gen-text.out" 2>&1
check "generate takes text prompts through the tokenizer and chat template" test $? -eq 0
check "text generations hold prompt and response" contains "$tmp/count/gen.jsonl" '"response":'
# rto tokenize: text to ids and back; a chat row to the ids generation sees.
python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["prompt"], end="")' \
  "$tmp/count/eval_prompts.jsonl" >"$tmp/text.txt"
"$rto" tokenize --model "$tmp/count/init" --no-special-tokens <"$tmp/text.txt" >"$tmp/tok.out" 2>&1
check "tokenize prints one line of ids" grep -qxE '[0-9]+( [0-9]+)*' "$tmp/tok.out"
"$rto" tokenize --model "$tmp/count/init" --decode <"$tmp/tok.out" >"$tmp/detok.out" 2>&1
check "tokenize --decode gives the text back" cmp -s "$tmp/text.txt" "$tmp/detok.out"
echo '12 oops' | "$rto" tokenize --model "$tmp/count/init" --decode >"$tmp/badids.out" 2>&1
check "tokenize --decode names a bad id" contains "$tmp/badids.out" "'oops' is not a token id"
head -2 "$tmp/count/eval_prompts.jsonl" | "$rto" tokenize --model "$tmp/count/init" --chat >"$tmp/chat.out" 2>&1
check "tokenize --chat prints a line of ids per row" test "$(wc -l <"$tmp/chat.out")" -eq 2
"$rto" eval --task-dir "$tmp/count" --samples "$tmp/count/gen.jsonl" >"$tmp/eval-gen.out" 2>&1
check "eval scores generated samples" contains "$tmp/eval-gen.out" "mean gold reward"
"$rto" eval --task-dir "$tmp/count" --samples "$tmp/count/sft.jsonl" --baseline "$tmp/count/sft.jsonl" \
  --out "$tmp/eval.json" >"$tmp/eval.out" 2>&1
check "eval exits 0" test $? -eq 0
check "eval prints mean gold and win rate" contains "$tmp/eval.out" "win rate vs baseline 0.500"
check "eval writes its result" contains "$tmp/eval.json" '"mean_gold"'
"$rto" eval --task nosuch --samples "$tmp/count/sft.jsonl" >"$tmp/eval-bad.out" 2>&1
check "eval names an unknown task" contains "$tmp/eval-bad.out" "unknown task 'nosuch'"

# The whole pipeline through the binary, a few steps each: SFT -> RM, DPO -> RTO and PPO.
c=$tmp/count
short=(--set train.steps=3 --set train.micro_batch=4 --set checkpoint.every=100)
"$rto" train sft --config "$src/configs/sft.yaml" --set "model=$c/init" --set "data=$c/sft.jsonl" --set "out=$c/sft" \
  "${short[@]}" >"$tmp/sft.out" 2>&1
check "train sft exits 0" test $? -eq 0
pref=(--set "model=$c/sft/final" --set "data=$c/preferences.jsonl" "${short[@]}")
"$rto" train rm --config "$src/configs/rm.yaml" "${pref[@]}" --set "out=$c/rm" >"$tmp/rm.out" 2>&1
check "train rm exits 0" test $? -eq 0
"$rto" train dpo --config "$src/configs/dpo.yaml" "${pref[@]}" --set "out=$c/dpo" >"$tmp/dpo.out" 2>&1
check "train dpo exits 0" test $? -eq 0
rl=(--config "$src/configs/rto.yaml" --set "models.policy=$c/sft/final" --set "models.dpo=$c/dpo/final"
  --set "models.reward=$c/rm/final" --set "prompts=$c/rl_prompts.jsonl" --set "eval_prompts=$c/eval_prompts.jsonl"
  --set steps=2 --set rollout.prompts_per_step=4 --set rollout.samples_per_prompt=2 --set rollout.max_new_tokens=8
  --set eval.every=2 --set eval.max_prompts=4)
"$rto" train rto "${rl[@]}" --set "out=$c/rto" >"$tmp/rto.out" 2>&1
check "train rto exits 0" test $? -eq 0
check "rto logs one metrics line per step" test "$(wc -l <"$c/rto/metrics.jsonl")" -eq 2
check "rto writes evaluation samples" test -f "$c/rto/samples/step-2.jsonl"
check "rto writes the final policy" test -f "$c/rto/final/model.safetensors"
# TensorBoard's own reader (installed by scripts/install-deps.sh) reads the run's event files:
# every metrics.jsonl value of every step, as float32.
PYTHONPATH="$src/.deps/tensorboard-2.21.0" python3 - "$c/rto" >"$tmp/tensorboard.out" 2>&1 <<'PY'
import json, sys
import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
run = sys.argv[1]
acc = EventAccumulator(run, size_guidance={"scalars": 0})
acc.Reload()
lines = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
expected = {(k, l["step"]): v for l in lines for k, v in l.items() if k != "step"}
got = {(tag, e.step): e.value for tag in acc.Tags()["scalars"] for e in acc.Scalars(tag)}
same = lambda a, b: a == b or (np.isnan(a) and np.isnan(b))
bad = [k for k, v in expected.items() if k not in got or not same(got[k], np.float32(v))]
print(f"{len(got)} scalars read, {len(expected)} expected, {len(bad)} missing or different: {bad[:5]}")
sys.exit(0 if expected and not bad and len(got) == len(expected) else 1)
PY
check "TensorBoard reads every metric of every step from the event files" test $? -eq 0
cat "$tmp/tensorboard.out"
"$rto" plot "$c/rto" >"$tmp/plot.out" 2>&1
check "rto plot writes the run's curves" test $? -eq 0 -a -s "$c/rto/curves.svg"
check "one curve per main metric of an RL run (6), in well-formed SVG" test "$(python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(sum(1 for e in root.iter("{http://www.w3.org/2000/svg}polyline") if e.get("class") == "curve"))' "$c/rto/curves.svg")" = 6
"$rto" plot "$c/rto" --keys kl/ref,nosuch >"$tmp/plot2.out" 2>&1
check "rto plot names a metric the run does not have" contains "$tmp/plot2.out" "has no metric 'nosuch'"
"$rto" train ppo "${rl[@]}" --set "out=$c/ppo" --set models.dpo=/nonexistent >"$tmp/ppo.out" 2>&1
check "train ppo runs without the DPO model" test $? -eq 0
check "ppo has no DPO token reward" contains "$c/ppo/metrics.jsonl" '"reward/dpo_token_mean":0.0'
# Each method's own config (laid over configs/rto.yaml with `base:`) is its job with its settings.
for m in ppo grpo rloo grpo_dpo rloo_dpo; do
  "$rto" train rto --config "$src/configs/$m.yaml" "${rl[@]:2}" --set "out=$c/$m-config" --set steps=1 \
    --set eval.every=0 >"$tmp/$m-config.out" 2>&1
  check "configs/$m.yaml runs" test $? -eq 0
done
check "configs/grpo.yaml is GRPO" contains "$c/grpo-config/config.yaml" "estimator: grpo"
check "configs/grpo.yaml has no DPO token reward" contains "$c/grpo-config/config.yaml" "dpo_reward_scale: 0$"
check "configs/rloo_dpo.yaml is RLOO with it" contains "$c/rloo_dpo-config/config.yaml" "estimator: rloo"
check "rloo_dpo earns the DPO token reward" test "$(grep -c '"reward/dpo_token_mean":0.0,' "$c/rloo_dpo-config/metrics.jsonl")" = 0
# configs/rto_from_dpo.yaml, run as written (its runs/quickstart paths are this test's models):
# the policy starts at the DPO model, the KL reference is SFT, so the first step's KL is not 0,
# as it is from SFT.
mkdir -p "$tmp/from-dpo/runs" && ln -s "$c" "$tmp/from-dpo/runs/quickstart"
# "${rl[@]:8}": rl without its --config and its three model paths (policy, dpo, reward).
(cd "$tmp/from-dpo" && "$rto" train rto --config "$src/configs/rto_from_dpo.yaml" "${rl[@]:8}" \
  --set "out=$c/from-dpo" --set steps=1 --set eval.every=0) >"$tmp/from-dpo.out" 2>&1
check "configs/rto_from_dpo.yaml runs" test $? -eq 0
first_kl() { python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["kl/ref"])' "$1"; }
check "a run from SFT starts at KL 0" test "$(first_kl "$c/rto/metrics.jsonl")" = 0.0
check "rto_from_dpo starts away from its KL reference (SFT)" test "$(first_kl "$c/from-dpo/metrics.jsonl")" != 0.0
"$rto" train rto "${rl[@]}" --set "out=$c/rto" >"$tmp/rto2.out" 2>&1
check "a second run into the same directory is refused" contains "$tmp/rto2.out" "pass --resume"
"$rto" train rto "${rl[@]}" --set "out=$c/rto3" --set ppo.clip_epsilon=0.1 >"$tmp/rto3.out" 2>&1
check "an unknown config key is named" contains "$tmp/rto3.out" "ppo.clip_epsilon"
"$rto" train rto "${rl[@]}" --set "out=$c/rto4" --set models.reward=$c/nosuch >"$tmp/rto4.out" 2>&1
check "a missing model directory is named" contains "$tmp/rto4.out" "nosuch"

"$rto" bogus >/dev/null 2>&1
check "an unknown command exits 2" test $? -eq 2

echo "cli_test: $failures failure(s)"
test "$failures" -eq 0
