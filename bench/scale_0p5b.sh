#!/usr/bin/env bash
# The Qwen2.5-0.5B shape through `rto launch`: randomly initialised models of that shape (hidden
# 896, 24 layers, 14 heads / 2 KV heads, intermediate 4864, vocab 151936, tied embeddings) on the
# count task's tokenizer, two RTO steps with one rollout worker (4 prompts x 2 samples), and the
# peak memory of every process, sampled from /proc every 0.2 s: RSS, and its anonymous and
# file-backed parts (file pages of read-only mappings are shared between processes and can be
# dropped and reread by the kernel; anonymous pages cannot). Prints a table and the steps' times.
# Usage: bench/scale_0p5b.sh [out dir (default runs/bench-0p5b)] [--models-only | extra --set overrides ...]
# Extra settings compare plans, e.g. --set frozen.map_weights=false (the frozen models copied).
# RTO_BUILD names the build folder (default build; bench/gpu_check.sh uses build-cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/bench-0p5b}
shift $(($# < 1 ? $# : 1))
rto=${RTO_BUILD:-build}/services/rto/rto
mkdir -p "$out"

# The models, made once: the policy (also the reference), a "DPO" model with other weights, and
# a reward model (also the critic's initial weights).
if [ ! -f "$out/rm/model.safetensors" ]; then
  "$rto" synth --task count --out "$out/task" --seed 0 >/dev/null
  python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
task = json.load(open(f"{out}/task/model_config.json"))
qwen = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "num_hidden_layers": 24,
        "num_attention_heads": 14, "num_key_value_heads": 2, "intermediate_size": 4864, "vocab_size": 151936,
        "tie_word_embeddings": True, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "torch_dtype": "float32", "eos_token_id": task["eos_token_id"], "pad_token_id": task["pad_token_id"]}
json.dump(qwen, open(f"{out}/policy.json", "w"), indent=2)
json.dump(dict(qwen, architectures=["Qwen2ForSequenceClassification"], num_labels=1), open(f"{out}/rm.json", "w"),
          indent=2)
PY
  "$rto" model init --config "$out/policy.json" --out "$out/policy" --seed 1 --tokenizer "$out/task/tokenizer"
  "$rto" model init --config "$out/policy.json" --out "$out/dpo" --seed 2 --tokenizer "$out/task/tokenizer"
  "$rto" model init --config "$out/rm.json" --out "$out/rm" --seed 3 --tokenizer "$out/task/tokenizer"
fi

[ "${1:-}" = "--models-only" ] && exit 0

run="$out/run"
rm -rf "$run"
"$rto" launch --config configs/rto.yaml \
  --set "models.policy=$out/policy" --set "models.dpo=$out/dpo" --set "models.reward=$out/rm" \
  --set "prompts=$out/task/rl_prompts.jsonl" --set "eval_prompts=$out/task/eval_prompts.jsonl" \
  --set "out=$run" --set steps=2 --set eval.every=0 --set checkpoint.every=100000 \
  --set reward.normalize=false --set rollout.prompts_per_step=4 --set rollout.samples_per_prompt=2 \
  --set rollout.max_new_tokens=32 --set ppo.mini_batch=8 --set ppo.micro_batch=4 \
  --set launch.rollout_workers=1 --set launch.startup_timeout_s=900 --set launch.rpc_deadline_s=1800 \
  "$@" >"$out/launch.log" 2>&1 &
launcher=$!
python3 - "$launcher" "$out/memory.json" <<'PY'
import json, os, sys, time
launcher, path = int(sys.argv[1]), sys.argv[2]
peak = {}
def status(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            fields[key] = int(value.split()[0]) * 1024
    return fields
while os.path.exists(f"/proc/{launcher}") and open(f"/proc/{launcher}/stat").read().split()[2] != "Z":
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = open(f"/proc/{pid}/cmdline").read().split("\0")
            if not os.path.basename(argv[0]).startswith("rto"):
                continue
            name = argv[argv.index("--name") + 1] if "--name" in argv else "launcher"
            s = status(pid)
        except (OSError, ValueError, IndexError):
            continue
        p = peak.setdefault(name, {})
        for k, v in s.items():
            p[k] = max(p.get(k, 0), v)
    time.sleep(0.2)
json.dump(peak, open(path, "w"), indent=2)
PY
wait "$launcher" || { echo "the launch failed; the end of $out/launch.log:"; tail -20 "$out/launch.log"; exit 1; }
python3 - "$out/memory.json" "$run/metrics.jsonl" <<'PY'
import json, sys
peak = json.load(open(sys.argv[1]))
gb = lambda b: f"{b / 2**30:.2f}"
print("| process | peak RSS GiB | peak anonymous GiB | peak file-backed GiB |")
print("|---|---:|---:|---:|")
for name in sorted(peak):
    p = peak[name]
    print(f"| {name} | {gb(p.get('VmRSS', 0))} | {gb(p.get('RssAnon', 0))} | {gb(p.get('RssFile', 0))} |")
print(f"| sum | {gb(sum(p.get('VmRSS', 0) for p in peak.values()))} | "
      f"{gb(sum(p.get('RssAnon', 0) for p in peak.values()))} | {gb(sum(p.get('RssFile', 0) for p in peak.values()))} |")
for line in open(sys.argv[2]):
    m = json.loads(line)
    stages = [("generate", "generate"), ("score", "score"), ("policy log-probs", "policy_logprobs"),
              ("values", "values"), ("train policy", "train_policy"), ("train critic", "train_critic"),
              ("weight sync", "weight_sync")]
    parts = ", ".join(f"{name} {m[f'time/{key}_s']:.1f}" for name, key in stages if f"time/{key}_s" in m)
    print(f"step {int(m['step'])}: {m['time/step_s']:.1f} s ({parts})")
PY
