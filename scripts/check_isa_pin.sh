#!/usr/bin/env bash
# Checks that the learning study's arithmetic pin (bench/learning_study.py PINNED_ISA) makes a run
# on this CPU bitwise equal to the same pinned run on an Intel and an AMD CPU with AVX2 and nothing
# wider. Those are emulated with qemu-user (-cpu Haswell-v4 and EPYC-Rome-v2: AVX2 and FMA, no
# AVX-512), which runs the same binary about 100x slower, so the job is small: 5 SFT steps of the
# lexicon task's seed-0 model.
# Prints one weights hash per way of running it:
#   native         this CPU, no pin
#   avx2           the emulated AVX2 CPU, no pin: differs from native where this CPU has AVX-512
#   native-pinned  this CPU, pinned
#   avx2-pinned    the emulated Intel AVX2 CPU, pinned
#   amd-pinned     the emulated AMD AVX2 CPU, pinned
# and exits 0 when the three pinned runs are equal. (A pinned run is not an unpinned AVX2 CPU's
# run: MKL's reproducible mode has kernels of its own.) Needs a built rto ($RTO, default
# build/services/rto/rto) and qemu-user (apt-get install qemu-user).
set -euo pipefail
cd "$(dirname "$0")/.."
rto=$(realpath "${RTO:-build/services/rto/rto}")
command -v qemu-x86_64 >/dev/null || { echo "check_isa_pin: needs qemu-x86_64: apt-get install qemu-user" >&2; exit 2; }
pin=$(python3 -c 'import sys; sys.path.insert(0, "bench"); import learning_study as s
print(" ".join(f"{k}={v}" for k, v in s.PINNED_ISA.items()))')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$rto" synth --task lexicon --out "$work/task" --seed 0 >/dev/null
"$rto" model init --config "$work/task/model_config.json" --tokenizer "$work/task/tokenizer" --out "$work/init" \
  --seed 0 >/dev/null

sft() {  # sft NAME [command prefix...]: prints NAME and the hash of its weights
  local name=$1; shift
  "$@" "$rto" train sft --config configs/sft.yaml --set "model=$work/init" --set "data=$work/task/sft.jsonl" \
    --set "out=$work/$name" --set train.steps=5 --set train.lr=2e-3 --set train.seed=0 \
    --set checkpoint.every=100000 >"$work/$name.log" 2>&1 || { tail "$work/$name.log"; exit 1; }
  hash[$name]=$(cat "$work/$name"/final/*.safetensors | sha256sum | cut -c1-16)
  printf '%-14s %s\n' "$name" "${hash[$name]}"
}
declare -A hash
sft native
sft avx2 qemu-x86_64 -cpu Haswell-v4
sft native-pinned env $pin
sft avx2-pinned env $pin qemu-x86_64 -cpu Haswell-v4
sft amd-pinned env $pin qemu-x86_64 -cpu EPYC-Rome-v2
if [[ ${hash[native-pinned]} != "${hash[avx2-pinned]}" || ${hash[native-pinned]} != "${hash[amd-pinned]}" ]]; then
  echo "check_isa_pin: pinned ($pin), this CPU and the emulated AVX2 CPUs still differ" >&2
  exit 1
fi
echo "check_isa_pin: pinned ($pin), this CPU computes bitwise as the Intel and the AMD AVX2 CPU$(
  [[ ${hash[native]} == "${hash[avx2]}" ]] && echo "; it does so unpinned too: it has no wider kernels to pick")"
