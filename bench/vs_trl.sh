#!/usr/bin/env bash
# rto against Hugging Face TRL on the CPU, side by side: the same models (runs/quickstart), data,
# token ids, hyperparameters and thread count, in interleaved rounds; prints a markdown table of
# medians and writes every raw number to runs/bench-vs-trl/results.json.
#
#   bench/vs_trl.sh                 3 rounds of the full workloads (several minutes on 2 cores)
#   ROUNDS=5 bench/vs_trl.sh        more rounds
#   QUICK=1 ROUNDS=1 bench/vs_trl.sh   a short validation run (20 DPO steps, 4 GRPO steps,
#                                   40 prompts): checks the plumbing, not a benchmark
#   THREADS=N                       intra-op threads for both sides (default: nproc, which is
#                                   what rto's thread plan uses for one process)
#   GEN_BATCH=B                     generation batch size for both sides (default 16, rto's)
#
# Workloads (rto | TRL 1.16 / transformers 5.24):
#   DPO        rto train dpo, configs/dpo.yaml | DPOTrainer: beta 0.1, sigmoid, lr 2e-4 cosine
#              (min 0.1x, 10 warm-up steps), 16 pairs per step, clip 1, fp32, reference
#              log-probs precomputed before the loop. Median s/step after 10 warm-up steps, and
#              the loop total.
#   GRPO       rto train ppo --set advantage.estimator=grpo, configs/rto.yaml | GRPOTrainer with
#              the reward model as reward function: 16 prompts x 4 completions per step, 48 new
#              tokens, temperature 1, KL 0.1 against the initial policy, lr 1e-4 constant, one
#              optimizer step per RL step. Median s/step after 2 warm-up steps.
#   Generation rto generate | model.generate: the 200 eval prompts, 64 new tokens, temperature 1,
#              batch 16; tokens/s of real tokens (up to and including EOS), and again with EOS
#              ignored so both make exactly 64 tokens per prompt.
#   Start-up   rto model inspect | import torch, transformers, TRL's trainers and load the model.
# What each timed interval covers is written next to it in bench/trl_side.py and in the notes the
# table prints; what still differs between the sides is printed there too.
#
# Python side: a venv in .deps/bench-venv with pinned torch/transformers/trl (benchmark-only
# dependencies), made on the first run. torch 2.15.0 and its CUDA libraries are taken from
# .deps/cuda-venv when scripts/install-deps.sh --cuda made it (no second 3 GB download; set
# BENCH_OWN_TORCH=1 to install them into the bench venv instead). Torch runs on the CPU:
# CUDA_VISIBLE_DEVICES="" for both sides.
#
# Does not build: it needs build/services/rto/rto and the models of scripts/quickstart.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "vs_trl: error: $*" >&2
  exit 1
}

ROUNDS=${ROUNDS:-3}
QUICK=${QUICK:-0}
THREADS=${THREADS:-$(nproc)}
GEN_BATCH=${GEN_BATCH:-16}
out=runs/bench-vs-trl
rto_built=build/services/rto/rto
q=runs/quickstart
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer (got '$THREADS')"
[[ "$GEN_BATCH" =~ ^[1-9][0-9]*$ ]] || die "GEN_BATCH must be a positive integer (got '$GEN_BATCH')"
if [ "$QUICK" = 1 ]; then
  dpo_steps=20 grpo_steps=4 gen_prompts=40
else
  dpo_steps=200 grpo_steps=20 gen_prompts=200
fi
dpo_skip=10 grpo_skip=2 gen_max_new_tokens=64

# --- 1. the Python venv ---------------------------------------------------------------------
venv=.deps/bench-venv
cuda_venv=.deps/cuda-venv
# Everything pip resolved for trl 1.16.0 + transformers 5.24.0 on torch 2.15.0, pinned; the
# nvidia-*/triton/cuda-* packages are pinned by torch 2.15.0's own requirements.
pins=(
  torch==2.15.0 transformers==5.24.0 trl==1.16.0 accelerate==1.15.0 datasets==5.2.0
  tokenizers==0.23.3 safetensors==0.8.0 huggingface_hub==2.4.0 hf-xet==1.8.0
  numpy==2.4.6 pandas==3.1.1 pyarrow==26.0.1 psutil==7.2.2 PyYAML==6.0.4 regex==2026.11.19
  tqdm==4.70.1 packaging==26.4 dill==0.4.1 multiprocess==0.70.19 xxhash==4.1.0
  python-dateutil==4.0.0 tzdata==2026.6 typer==0.29.2 click==8.5.1 rich==15.0.0
  markdown-it-py==4.3.0 mdurl==0.1.2 Pygments==2.21.0 shellingham==1.5.4 annotated-doc==0.0.7
  pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  anyio==4.16.0 idna==3.20 h11==0.16.0 httpcore2==2.16.2 httpx2==2.16.2 truststore==0.10.5
  filelock==4.3.1 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0
  networkx==3.6.1 sympy==1.14.0 typing_extensions==4.16.0
)
pyver() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
torch_from=own
if [ "${BENCH_OWN_TORCH:-0}" != 1 ] && [ -f "$cuda_venv/.complete-2.15.0" ] &&
  [ "$(pyver "$cuda_venv/bin/python")" = "$(pyver python3)" ]; then
  torch_from=cuda-venv
fi
stamp=$(printf '%s\n' "${pins[@]}" "$torch_from" | sha1sum | cut -c1-12)
if [ ! -f "$venv/.complete-$stamp" ]; then
  echo "vs_trl: making $venv (torch from: $torch_from)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  if [ "$torch_from" = cuda-venv ]; then
    # The bench venv's own packages come first on sys.path; this line appends cuda-venv's
    # site-packages (torch 2.15.0 and its CUDA libraries) after them, and pip sees them installed.
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    cuda_site=$("$cuda_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$cuda_site" >"$site/zz-torch-from-cuda-venv.pth"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore "${pins[@]}" ||
    die "pip could not install the pinned benchmark dependencies into $venv"
  "$venv/bin/python" -m pip check >/dev/null || die "pip check fails in $venv: $("$venv/bin/python" -m pip check)"
  CUDA_VISIBLE_DEVICES="" "$venv/bin/python" -c '
import torch, transformers, trl
assert (torch.__version__.split("+")[0], transformers.__version__, trl.__version__) == ("2.15.0", "5.24.0", "1.16.0"), \
    (torch.__version__, transformers.__version__, trl.__version__)
' || die "$venv does not import the pinned torch/transformers/trl"
  touch "$venv/.complete-$stamp"
fi
py=$venv/bin/python

# --- 2. what rto needs --------------------------------------------------------------------------
[ -x "$rto_built" ] || die "$rto_built is missing: build rto first (scripts/quickstart.sh builds it and makes the models)"
for f in $q/sft/final/config.json $q/sft/final/model.safetensors $q/sft/final/tokenizer.json \
  $q/rm/final/config.json $q/rm/final/model.safetensors $q/rm/final/reward_normalization.json \
  $q/dpo/final/model.safetensors $q/task/preferences.jsonl $q/task/rl_prompts.jsonl \
  $q/task/eval_prompts.jsonl configs/dpo.yaml configs/rto.yaml; do
  [ -s "$f" ] || die "$f is missing: run scripts/quickstart.sh first (it makes runs/quickstart/)"
done
[ "$(wc -l <$q/task/eval_prompts.jsonl)" -ge "$gen_prompts" ] || die "$q/task/eval_prompts.jsonl has < $gen_prompts prompts"

# The same environment for both sides: the CPU, the same OpenMP/MKL thread counts, no extra
# tokenizer threads (HF tokenizers' Rayon pool), nothing fetched from the Hub.
export CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export HF_HOME=$PWD/$out/hf-home HF_HUB_DISABLE_TELEMETRY=1 TQDM_DISABLE=1 PYTHONHASHSEED=0 TRANSFORMERS_VERBOSITY=error

rm -rf "$out"
mkdir -p "$out/check"
# A copy of the binary (its RUNPATH is absolute), so that a rebuild in build/ during the run cannot
# mix two versions of rto into one table.
rto=$out/rto
cp "$rto_built" "$rto"
"$rto" model inspect $q/sft/final >/dev/null || die "$rto_built does not run (is a build writing it just now?)"
loadavg_before=$(cat /proc/loadavg)
load1=${loadavg_before%% *}
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  echo "vs_trl: WARNING: load average $load1 > 0.5 before the start: something else is running; the numbers will be noisy" >&2
fi

# CPU seconds the whole machine has been busy (/proc/stat), and those of this script's finished
# children (bash's `times`): their difference over a command is what other processes took.
hz=$(getconf CLK_TCK)
machine_busy_s() { awk -v hz="$hz" '/^cpu / { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }
# `times` must run in this shell itself (a $(...) subshell would report its own children), so it
# writes to a file that a subshell then reads.
times_file=$out/.times
children_cpu_s() {
  awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] } printf "%.2f\n", n }' "$times_file"
}

# run_timed WALL_FILE LOG CMD...: runs CMD with its output in LOG, its wall seconds in WALL_FILE
# and, in WALL_FILE.other, the CPU seconds that other processes on the machine used meanwhile.
run_timed() {
  local wall=$1 log=$2
  shift 2
  local t0 t1 b0 b1 c0 c1
  times >"$times_file"
  b0=$(machine_busy_s) c0=$(children_cpu_s) t0=$(date +%s.%N)
  if ! "$@" >"$log" 2>&1; then
    echo "vs_trl: FAILED: $*" >&2
    tail -n 40 "$log" >&2
    die "see $log"
  fi
  t1=$(date +%s.%N)
  times >"$times_file"
  b1=$(machine_busy_s) c1=$(children_cpu_s)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >"$wall"
  awk -v b0="$b0" -v b1="$b1" -v c0="$c0" -v c1="$c1" 'BEGIN { printf "%.2f\n", (b1 - b0) - (c1 - c0) }' >"$wall.other"
}

# --- 3a. the token ids must agree ---------------------------------------------------------------
echo "vs_trl: checking that rto and TRL see the same token ids"
c=$out/check
run_timed $c/ids.wall $c/ids.log "$py" bench/trl_side.py check-ids --model $q/sft/final \
  --preferences $q/task/preferences.jsonl --rl-prompts $q/task/rl_prompts.jsonl \
  --eval-prompts $q/task/eval_prompts.jsonl --out-dir $c --out $c/ids.json
# The same sampling seed from rto's own text path and from the Python tokenizer's ids: the
# generations (and their log-probs) match only if the prompt ids are the same.
for kind in text ids; do
  run_timed $c/gen-$kind.wall $c/gen-$kind.log "$rto" generate --model $q/sft/final \
    --prompts $c/prompts_$kind.jsonl --out $c/gen-$kind.jsonl --max-new-tokens 16 --temperature 1 \
    --seed 7 --threads "$THREADS"
done
"$py" bench/trl_side.py compare-generations $c/gen-text.jsonl $c/gen-ids.jsonl | tee $c/compare.log
# DPO responses: one rto step over all 2000 pairs (8 micro-batches of 250) reports every
# response token (chosen and rejected, EOS included) as "tokens"; it must equal the count from
# the ids TRL trains on (trl_side.py dpo also checks TRL's ids pair by pair).
run_timed $c/dpo-tokens.wall $c/dpo-tokens.log "$rto" train dpo --config configs/dpo.yaml \
  --set out=$c/dpo-tokens --set train.steps=1 --set train.micro_batch=250 --set train.grad_accum=8 \
  --set train.warmup_steps=0 --set threads.intra_op="$THREADS"
pairs=$(wc -l <$q/task/preferences.jsonl)
[ "$pairs" -eq 2000 ] || die "$q/task/preferences.jsonl has $pairs pairs; the token check assumes 2000 (8 x 250)"
"$py" - $c/dpo-tokens/metrics.jsonl $c/ids.json <<'EOF'
import json, sys
rto = json.loads(open(sys.argv[1]).readline())["tokens"]
want = json.load(open(sys.argv[2]))["dpo_response_tokens"]
if rto != want:
    sys.exit(f"vs_trl: error: rto's DPO data holds {rto:.0f} response tokens, the ids TRL trains on {want}")
print(f"dpo tokens: rto {rto:.0f} = TRL {want} response tokens over all pairs")
EOF

head -n "$gen_prompts" $q/task/eval_prompts.jsonl >"$out/gen_prompts.jsonl"

versions=$("$py" -c '
import json, platform, torch, transformers, trl, accelerate, datasets
print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                  "accelerate": accelerate.__version__, "datasets": datasets.__version__,
                  "python": platform.python_version()}))')
rto_version="git $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- common services 2>/dev/null || echo '+changes'), binary built $(date -r "$rto_built" '+%F %T'), sha1 $(sha1sum <"$rto" | cut -c1-12)"

# --- 3b. the rounds -----------------------------------------------------------------------------
rto_dpo() {
  run_timed $rd/rto-dpo.wall $rd/rto-dpo.log "$rto" train dpo --config configs/dpo.yaml \
    --set out=$rd/rto-dpo --set train.steps=$dpo_steps --set checkpoint.every=100000 \
    --set threads.intra_op="$THREADS"
}
trl_dpo() {
  run_timed $rd/trl-dpo.wall $rd/trl-dpo.log "$py" bench/trl_side.py dpo --model $q/sft/final \
    --data $q/task/preferences.jsonl --steps $dpo_steps --skip $dpo_skip --threads "$THREADS" \
    --work-dir $rd/trl-dpo-work --out $rd/trl-dpo.json
}
rto_grpo() {
  run_timed $rd/rto-grpo.wall $rd/rto-grpo.log "$rto" train ppo --config configs/rto.yaml \
    --set advantage.estimator=grpo --set out=$rd/rto-grpo --set steps=$grpo_steps --set eval.every=0 \
    --set checkpoint.every=100000 --set ppo.mini_batch=64 --set ppo.micro_batch=64 \
    --set threads.intra_op="$THREADS"
}
trl_grpo() {
  run_timed $rd/trl-grpo.wall $rd/trl-grpo.log "$py" bench/trl_side.py grpo --model $q/sft/final \
    --reward-model $q/rm/final --prompts $q/task/rl_prompts.jsonl --steps $grpo_steps --skip $grpo_skip \
    --threads "$THREADS" --work-dir $rd/trl-grpo-work --out $rd/trl-grpo.json
}
rto_gen() {
  run_timed $rd/rto-gen.wall $rd/rto-gen.log "$rto" generate --model $q/sft/final \
    --prompts $out/gen_prompts.jsonl --out $rd/rto-gen.jsonl --max-new-tokens $gen_max_new_tokens \
    --temperature 1 --top-k 0 --top-p 1 --seed 0 --batch-size "$GEN_BATCH" --threads "$THREADS"
  # An empty stop list: EOS is sampled like any token and every row makes all 64 tokens.
  run_timed $rd/rto-gen-noeos.wall $rd/rto-gen-noeos.log "$rto" generate --model $q/sft/final \
    --prompts $out/gen_prompts.jsonl --out $rd/rto-gen-noeos.jsonl --max-new-tokens $gen_max_new_tokens \
    --temperature 1 --top-k 0 --top-p 1 --seed 0 --batch-size "$GEN_BATCH" --threads "$THREADS" \
    --stop-token-ids=
}
trl_gen() {
  run_timed $rd/trl-gen.wall $rd/trl-gen.log "$py" bench/trl_side.py generate --model $q/sft/final \
    --prompts $out/gen_prompts.jsonl --batch-size "$GEN_BATCH" --max-new-tokens $gen_max_new_tokens \
    --threads "$THREADS" --out $rd/trl-gen.json
  run_timed $rd/trl-gen-noeos.wall $rd/trl-gen-noeos.log "$py" bench/trl_side.py generate --model $q/sft/final \
    --prompts $out/gen_prompts.jsonl --batch-size "$GEN_BATCH" --max-new-tokens $gen_max_new_tokens \
    --threads "$THREADS" --ignore-eos --out $rd/trl-gen-noeos.json
}
rto_startup() {
  run_timed $rd/rto-startup.wall $rd/rto-startup.log "$rto" model inspect $q/sft/final
}
trl_startup() {
  run_timed $rd/trl-startup.wall $rd/trl-startup.log "$py" bench/trl_side.py startup --model $q/sft/final \
    --threads "$THREADS" --out $rd/trl-startup.json
}

for ((r = 1; r <= ROUNDS; r++)); do
  rd=$out/round-$r
  mkdir -p "$rd"
  if ((r % 2)); then order="rto trl"; else order="trl rto"; fi
  for w in startup dpo grpo gen; do
    for side in $order; do
      echo "vs_trl: round $r/$ROUNDS: $side $w"
      "${side}_$w"
    done
  done
done
loadavg_after=$(cat /proc/loadavg)

"$py" - "$out/meta.json" <<EOF
import json, sys
json.dump({
    "rounds": $ROUNDS, "quick": $([ "$QUICK" = 1 ] && echo True || echo False), "threads": $THREADS,
    "dpo_steps": $dpo_steps, "dpo_skip": $dpo_skip, "grpo_steps": $grpo_steps, "grpo_skip": $grpo_skip,
    "gen_prompts": $gen_prompts, "gen_batch": $GEN_BATCH, "gen_max_new_tokens": $gen_max_new_tokens,
    "loadavg_before": "$loadavg_before", "loadavg_after": "$loadavg_after",
    "torch_from": "$torch_from", "versions": dict($versions, rto="$rto_version"),
}, open(sys.argv[1], "w"), indent=2)
EOF
echo
python3 bench/vs_trl_report.py "$out"
