#!/usr/bin/env bash
# The distributed system on loopback: every role as its own process (learner, critic, scorer,
# 2 rollout workers) under `rto launch`, against the same run in one process (`rto train rto`);
# generation one batch ahead; `rto ctl` status / pause / resume / stop; a Prometheus scrape;
# Ctrl-C; a rollout worker and a scorer replaced mid-run; a service that keeps dying; and
# `rto coordinator` with workers
# started by hand, as docker-compose or Kubernetes start them.
# Usage: launch_test.sh BUILD_DIR SOURCE_DIR
set -u
bin=$1/services/rto
rto=$bin/rto
src=$2
tmp=$(mktemp -d)
cleanup() {
  pkill -f "$tmp/" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
contains() { grep -q -- "$2" "$1"; }
fails() { ! "$@" >/dev/null 2>&1; }
# launch_and_kill NAME STEP ROLE [rto launch args...]: `rto launch` into $tmp/NAME (output in
# $tmp/NAME.out); once it logs step STEP, kill -9 its newest rto-ROLE process; its exit code.
launch_and_kill() {
  local name=$1 step=$2 role=$3; shift 3
  "$rto" launch "$@" --set "out=$tmp/$name" >"$tmp/$name.out" 2>&1 &
  local launcher=$!
  for _ in $(seq 600); do
    grep -q "step $step/" "$tmp/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  pkill -9 -f "rto-$role --config $tmp/$name/logs/services.yaml" -n
  wait "$launcher"
}

# A synthetic world with SFT, RM and DPO models (a few steps each: enough to be real models).
w=$tmp/world
"$rto" synth --task count --out "$w/task" --seed 1 --sft-rows 200 --preference-rows 200 >/dev/null 2>&1
"$rto" model init --config "$w/task/model_config.json" --out "$w/init" --tokenizer "$w/task/tokenizer" >/dev/null 2>&1
short=(--set train.steps=3 --set train.micro_batch=4 --set checkpoint.every=100)
"$rto" train sft --config "$src/configs/sft.yaml" --set "model=$w/init" --set "data=$w/task/sft.jsonl" \
  --set "out=$w/sft" "${short[@]}" >/dev/null 2>&1
pref=(--set "model=$w/sft/final" --set "data=$w/task/preferences.jsonl" "${short[@]}")
"$rto" train rm --config "$src/configs/rm.yaml" "${pref[@]}" --set "out=$w/rm" >/dev/null 2>&1
"$rto" train dpo --config "$src/configs/dpo.yaml" "${pref[@]}" --set "out=$w/dpo" >/dev/null 2>&1
check "the world is built" test -f "$w/dpo/final/model.safetensors" -a -f "$w/rm/final/reward_normalization.json"
auto=(--config "$src/configs/rto.yaml" --set "models.policy=$w/sft/final" --set "models.dpo=$w/dpo/final"
  --set "models.reward=$w/rm/final" --set "prompts=$w/task/rl_prompts.jsonl"
  --set "eval_prompts=$w/task/eval_prompts.jsonl" --set rollout.prompts_per_step=6 --set rollout.samples_per_prompt=2
  --set rollout.max_new_tokens=12 --set eval.max_prompts=6 --set launch.rollout_workers=2)
# Float results depend on how many threads split an operator: runs compared bitwise use the
# same count in every process (the default divides the cores, so one process would get more).
rl=("${auto[@]}" --set threads.intra_op=1)

# Across processes and in one process: the same metrics and the same final weights.
"$rto" launch "${rl[@]}" --set "out=$tmp/dist" --set steps=4 --set eval.every=2 --set checkpoint.every=2 \
  >"$tmp/dist.out" 2>&1
check "launch exits 0" test $? -eq 0
check "launch logs every service" test -s "$tmp/dist/logs/learner.log" -a -s "$tmp/dist/logs/critic.log" \
  -a -s "$tmp/dist/logs/scorer-0.log" -a -s "$tmp/dist/logs/rollout-0.log" -a -s "$tmp/dist/logs/rollout-1.log"
check "launch logs 4 steps" test "$(wc -l <"$tmp/dist/metrics.jsonl")" -eq 4
check "launch checkpoints" test -f "$tmp/dist/checkpoints/step-4/policy/model/model.safetensors" \
  -a -f "$tmp/dist/checkpoints/step-4/critic/model/model.safetensors"
check "launch evaluates" test -f "$tmp/dist/samples/step-4.jsonl"
check "every worker's weights hash equal to the learner's" contains "$tmp/dist.out" \
  "weights verified: the learner and 2 rollout workers hold version 4"
check "on one host the weights go through shared memory" contains "$tmp/dist.out" \
  "weights go to the rollout workers through shm"
check "the learner says so" contains "$tmp/dist/logs/learner.log" "rank 0 of 3: shm"
"$rto" train rto "${rl[@]}" --set "out=$tmp/local" --set steps=4 --set eval.every=2 --set checkpoint.every=2 \
  >"$tmp/local.out" 2>&1
check "train rto exits 0" test $? -eq 0
check "final policy bitwise equal across processes and in one" cmp -s "$tmp/dist/final/model.safetensors" \
  "$tmp/local/final/model.safetensors"
check "final critic bitwise equal" cmp -s "$tmp/dist/checkpoints/step-4/critic/model/model.safetensors" \
  "$tmp/local/checkpoints/step-4/critic/model/model.safetensors"
check "evaluation samples equal" cmp -s "$tmp/dist/samples/step-4.jsonl" "$tmp/local/samples/step-4.jsonl"
python3 - "$tmp/dist/metrics.jsonl" "$tmp/local/metrics.jsonl" >"$tmp/metrics-diff.out" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
# Timings differ; behaviour log-probs depend on which prompts share a generation batch (padding
# changes float rounding at 1e-6) and enter no update: the learner recomputes its own.
skip = lambda k: k.startswith(("time/", "throughput/")) or k == "rollout/logprob_max_diff"
bad = [(x["step"], k, x[k], y.get(k)) for x, y in zip(a, b) for k in x if not skip(k) and x[k] != y.get(k)]
print("metrics differ:", bad if bad else "none")
sys.exit(1 if bad or len(a) != len(b) else 0)
PY
check "every other metric equal across processes and in one" test $? -eq 0

# Resume across processes: a run that "crashed" after its step-2 checkpoint continues through
# `rto launch --resume` and ends as the uninterrupted run.
cp -r "$tmp/dist" "$tmp/resumed"
rm -rf "$tmp/resumed/checkpoints/step-4" "$tmp/resumed/final"
"$rto" launch "${rl[@]}" --set "out=$tmp/resumed" --set steps=4 --set eval.every=2 --set checkpoint.every=2 \
  --resume >"$tmp/resumed.out" 2>&1
check "launch --resume exits 0" test $? -eq 0
check "the resumed run logs each step once" test "$(wc -l <"$tmp/resumed/metrics.jsonl")" -eq 4
check "and ends with the uninterrupted run's weights" cmp -s "$tmp/dist/final/model.safetensors" \
  "$tmp/resumed/final/model.safetensors"

# A data-parallel learner and critic, 2 ranks each (ZeRO-1), as processes of their own: the ranks
# hold equal weights, each saves its optimiser shard, the run ends bitwise as the same ranks in
# one process, and it resumes bitwise across processes.
dp=(--set launch.learner_ranks=2 --set launch.critic_ranks=2 --set steps=4 --set eval.every=0 --set checkpoint.every=2)
"$rto" launch "${rl[@]}" "${dp[@]}" --set "out=$tmp/dp" >"$tmp/dp.out" 2>&1
check "launch with 2 learner and 2 critic ranks exits 0" test $? -eq 0
check "each rank is a process" test -s "$tmp/dp/logs/learner-1.log" -a -s "$tmp/dp/logs/critic-1.log"
check "the learner's ranks hold equal weights" contains "$tmp/dp.out" "as every one of the learner's 2 ranks"
check "each rank saves its optimiser shard" test -f "$tmp/dp/checkpoints/step-4/policy/optimizer-1-of-2.safetensors" \
  -a -f "$tmp/dp/checkpoints/step-4/critic/optimizer-1-of-2.safetensors"
"$rto" train rto "${rl[@]}" "${dp[@]}" --set "out=$tmp/dp-local" >/dev/null 2>&1
check "and ends bitwise equal to the same ranks in one process" cmp -s "$tmp/dp/final/model.safetensors" \
  "$tmp/dp-local/final/model.safetensors"
cp -r "$tmp/dp" "$tmp/dp-resumed"
rm -rf "$tmp/dp-resumed/checkpoints/step-4" "$tmp/dp-resumed/final"
"$rto" launch "${rl[@]}" "${dp[@]}" --set "out=$tmp/dp-resumed" --resume >/dev/null 2>&1
check "a 2-rank run resumes bitwise" cmp -s "$tmp/dp/final/model.safetensors" "$tmp/dp-resumed/final/model.safetensors"

# Generation one batch ahead of training (max_staleness 1): the same numbers across processes and
# in one process, and batches one version old wherever no checkpoint or evaluation intervenes.
stale=(--set steps=6 --set eval.every=0 --set checkpoint.every=3 --set rollout.max_staleness=1)
"$rto" launch "${rl[@]}" --set "out=$tmp/stale" "${stale[@]}" >"$tmp/stale.out" 2>&1
check "launch with max_staleness 1 exits 0" test $? -eq 0
"$rto" train rto "${rl[@]}" --set "out=$tmp/stale-local" "${stale[@]}" >/dev/null 2>&1
check "and ends bitwise equal to the same run in one process" cmp -s "$tmp/stale/final/model.safetensors" \
  "$tmp/stale-local/final/model.safetensors"
staleness() { python3 -c "import json,sys; print(''.join(str(int(json.loads(l)['rollout/staleness'])) for l in open(sys.argv[1])))" "$1"; }
check "steps after a checkpoint are on-policy, the others one version old" test "$(staleness "$tmp/stale/metrics.jsonl")" = "011011"
check "one process overlaps the same way" test "$(staleness "$tmp/stale-local/metrics.jsonl")" = "011011"

# A long run to look at while it works: `rto ctl`, a Prometheus scrape, pause, resume, stop; with
# the default thread plan, which divides this machine's cores among the five services.
"$rto" launch "${auto[@]}" --set "out=$tmp/long" --set steps=500 --set eval.every=2 --set checkpoint.every=1000 \
  >"$tmp/long.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  grep -q "step 3/" "$tmp/long.out" 2>/dev/null && break
  sleep 0.1
done
ctl() { "$rto" ctl "$@" --run "$tmp/long" --json; }
field() { python3 -c "import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
ctl status >"$tmp/status.json"
cores=$(python3 -c "import os; print(len(os.sched_getaffinity(0)))")
each=$(sed -n 's/^launch: 5 services, \([0-9]*\) intra-op threads each$/\1/p' "$tmp/long.out")
check "the services share the cores ($each threads each for 5 on $cores cores)" \
  test -n "$each" -a "$((each * 5))" -le "$((cores > 5 ? cores : 5))"
check "and each service runs that many" contains "$tmp/long/logs/rollout-1.log" ", $each intra-op threads"
check "ctl status: running" test "$(field 's["state"]' <"$tmp/status.json")" = RUNNING
check "ctl status: five workers registered and alive" \
  test "$(field 'sum(w["alive"] for w in s["workers"])' <"$tmp/status.json")" = 5
check "ctl status: the last step's metrics" test "$(field '"reward/rm_score" in s["last_metrics"]' <"$tmp/status.json")" = True
"$rto" ctl status --run "$tmp/long" >"$tmp/status.txt"
check "ctl status prints the workers for people" contains "$tmp/status.txt" "rollout-1"
# The run's gRPC is TLS with tokens, made by `rto launch`: callers without the run's
# credentials are refused, each with its code, a worker's credentials may not steer the run, and
# the run goes on meanwhile (it pauses, resumes and stops below).
check "the run's keys and tokens are private" test "$(stat -c %a "$tmp/long/security/learner/tls.key" \
  "$tmp/long/security/operator/token" | sort -u)" = 600
check "every service says its gRPC is TLS with tokens" test "$(grep -l "gRPC: TLS with client certificates and bearer tokens" \
  "$tmp/long/logs/"{learner,critic,scorer-0,rollout-0,rollout-1}.log | wc -l)" -eq 5
address=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['address'])" "$tmp/long/logs/coordinator.json")
refused() {  # refused CODE ctl-args...: rto ctl fails with CODE
  local code=$1; shift
  ! "$rto" ctl "$@" >"$tmp/refused.out" 2>&1 && contains "$tmp/refused.out" "error: $code"
}
check "ctl without TLS is refused" refused UNAVAILABLE status --address "$address" --plaintext
check "ctl with another run's credentials is refused" refused UNAVAILABLE status --address "$address" \
  --security-dir "$tmp/dist/security/operator"
mkdir -p "$tmp/no-token" && cp "$tmp/long/security/operator/"* "$tmp/no-token/" && chmod 600 "$tmp/no-token/"*
python3 -c "open('$tmp/no-token/token','w').write('f'*64)"
echo "operator $(printf f%.0s {1..64} | sha256sum | cut -d' ' -f1)" >>"$tmp/no-token/tokens.sha256"
check "ctl with a token that is not the run's is refused" refused UNAUTHENTICATED status --address "$address" \
  --security-dir "$tmp/no-token"
check "a worker's credentials may not stop the run" refused PERMISSION_DENIED stop --address "$address" \
  --security-dir "$tmp/long/security/rollout"
check "rto health with the run's credentials: serving" "$rto" health --address "$address" \
  --security-dir "$tmp/long/security/operator"
check "rto health in plaintext against the TLS port: not" fails "$rto" health --address "$address" --plaintext
check "the run goes on" test "$(ctl status | field 's["state"]')" = RUNNING
scrape() {  # scrape PORT: GET /metrics over bash's /dev/tcp
  exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >&3 && cat <&3
  exec 3<&-
}
metrics_port() { field "[w['metrics_port'] for w in s['workers'] if w['name'] == '$1'][0]" <"$tmp/status.json"; }
scrape "$(metrics_port rollout-0)" >"$tmp/rollout.metrics"
check "rollout metrics count Generate calls" contains "$tmp/rollout.metrics" 'rto_rollout_requests_total{code="OK",method="Generate"}'
check "rollout metrics carry weight-sync bytes" contains "$tmp/rollout.metrics" 'rto_rollout_weight_sync_bytes_total'
check "rollout metrics carry the policy version" contains "$tmp/rollout.metrics" 'rto_rollout_policy_version'
check "rollout metrics say the weights came through shared memory" contains "$tmp/rollout.metrics" \
  'rto_rollout_weight_sync_shared_memory 1'
scrape "$(metrics_port learner)" >"$tmp/learner.metrics"
scrape "$(metrics_port critic)" >"$tmp/critic.metrics"
scrape "$(metrics_port scorer-0)" >"$tmp/scorer.metrics"
check "learner metrics time PublishWeights" contains "$tmp/learner.metrics" 'rto_learner_request_seconds_count{method="PublishWeights"}'
scrape "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metrics_port'])" "$tmp/long/logs/coordinator.json")" \
  >"$tmp/coordinator.metrics"
check "coordinator metrics count heartbeats" contains "$tmp/coordinator.metrics" 'rto_coordinator_requests_total{code="OK",method="Heartbeat"}'
check "coordinator metrics carry the reward" contains "$tmp/coordinator.metrics" 'rto_coordinator_reward_rm_score'
check "no metric names a credential" test -z "$(grep -l -e security -e "$(cat "$tmp/long/security/coordinator/token")" \
  -e "$(cat "$tmp/long/security/rollout/token")" "$tmp"/{coordinator,rollout,learner}.metrics)"
python3 - "$src/deploy/grafana/dashboards/rto.json" "$tmp"/{coordinator,rollout,learner,critic,scorer}.metrics \
  >"$tmp/dashboard-names.out" <<'PY'
import json, re, sys
# Every metric the Grafana dashboard names (regex selectors aside) is one the services export.
exprs = [t["expr"] for p in json.load(open(sys.argv[1]))["panels"] for t in p["targets"]]
named = {n for e in exprs for n in re.findall(r"rto_[a-z0-9_]*[a-z0-9]", re.sub(r'\{__name__=~"[^"]*"\}', "", e))}
scraped = {l.split("{")[0].split(" ")[0] for f in sys.argv[2:] for l in open(f) if l.startswith("rto_")}
missing = sorted(n for n in named if n not in scraped)
print("dashboard metrics not exported:", missing or "none")
sys.exit(1 if missing or not named else 0)
PY
check "every metric of the Grafana dashboard is exported" test $? -eq 0
cat "$tmp/dashboard-names.out"
ctl pause >/dev/null
for _ in $(seq 300); do
  test "$(ctl status | field 's["state"]')" = PAUSED && break
  sleep 0.1
done
check "ctl pause: paused between steps" test "$(ctl status | field 's["state"]')" = PAUSED
lines=$(wc -l <"$tmp/long/metrics.jsonl")
sleep 3
check "no step runs while paused" test "$(wc -l <"$tmp/long/metrics.jsonl")" -eq "$lines"
ctl resume >/dev/null
for _ in $(seq 300); do
  test "$(wc -l <"$tmp/long/metrics.jsonl")" -gt "$lines" && break
  sleep 0.1
done
check "ctl resume: steps run again" test "$(wc -l <"$tmp/long/metrics.jsonl")" -gt "$lines"
ctl stop >/dev/null
wait "$launcher"
check "ctl stop: the launcher exits 0" test $? -eq 0
stopped_at=$(wc -l <"$tmp/long/metrics.jsonl")
check "ctl stop: a checkpoint at the step it stopped" test -f "$tmp/long/checkpoints/step-$stopped_at/coordinator.json"
check "ctl stop: no final policy (the run is not complete)" test ! -e "$tmp/long/final"
sleep 1
check "ctl stop leaves no service running" test -z "$(pgrep -f "$tmp/long/")"

# --resume goes on from the stop; then Ctrl-C.
"$rto" launch "${rl[@]}" --set "out=$tmp/long" --set steps=500 --set eval.every=2 --set checkpoint.every=1000 \
  --resume >"$tmp/long2.out" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  test "$(wc -l <"$tmp/long/metrics.jsonl")" -gt "$stopped_at" && break
  sleep 0.1
done
check "launch --resume continues after the stop" python3 -c "
import json, sys
steps = [json.loads(l)['step'] for l in open(sys.argv[1])]
sys.exit(0 if steps[:$stopped_at + 1] == list(range($stopped_at + 1)) else 1)" "$tmp/long/metrics.jsonl"
kill -INT "$launcher"
wait "$launcher"
check "Ctrl-C stops the launcher" test $? -ne 0
sleep 1
check "Ctrl-C leaves no service running" test -z "$(pgrep -f "$tmp/long/")"

# A rollout worker killed mid-run is replaced; the run goes on and ends exactly as one that never
# lost a worker (the samples are keyed by step, prompt and sample; the new worker gets the weights).
ft=(--set steps=24 --set eval.every=0 --set launch.weight_sync_timeout_s=10)
launch_and_kill replace 3 rollout "${rl[@]}" "${ft[@]}"
replaced=$?
check "a run that lost a worker completes" test $replaced -eq 0
[ $replaced -eq 0 ] || { echo "the end of its output:"; tail -n 30 "$tmp/replace.out"; }
check "the launcher replaced the worker" contains "$tmp/replace.out" "died; starting a replacement"
check "the coordinator gave its slot to the new process" contains "$tmp/replace.out" "takes its place"
"$rto" train rto "${rl[@]}" --set "out=$tmp/replace-local" "${ft[@]}" >/dev/null 2>&1
check "and ends with the same weights as an undisturbed run" cmp -s "$tmp/replace/final/model.safetensors" \
  "$tmp/replace-local/final/model.safetensors"

# A killed scorer (stateless) is replaced and its scoring retried: the same end as the undisturbed run.
launch_and_kill scorer 3 scorer "${rl[@]}" "${ft[@]}"
check "a run that lost its scorer completes" test $? -eq 0
check "the scorer's loss is counted" contains "$tmp/scorer.out" "recoveries: learner 0 critic 0 scorer 1 rollout 0"
check "and ends with the undisturbed run's weights" cmp -s "$tmp/scorer/final/model.safetensors" \
  "$tmp/replace-local/final/model.safetensors"

# A service that keeps dying (here: launch.max_restarts 0) stops the run with its name and log tail.
launch_and_kill dead 2 scorer "${rl[@]}" --set steps=500 --set eval.every=0 --set launch.max_restarts=0 \
  --set launch.rpc_deadline_s=20
check "a service that keeps dying stops the run" test $? -ne 0
check "the error names it" contains "$tmp/dead.out" "scorer-0 keeps dying: it died again after 0 restarts"
check "the error carries its log tail" contains "$tmp/dead.out" "| rto-scorer: serving on"
sleep 1
check "no service is left behind" test -z "$(pgrep -f "$tmp/dead/")"

# `rto coordinator` starts nothing: workers started by hand (as docker-compose or Kubernetes
# start them) register with it, run the job, and exit when the coordinator says it is over. The
# weights go over Gloo here, as between hosts, and arrive the same.
# They bring their own credentials (here the launched run's, as a mounted Secret would).
svc=$tmp/dist/logs/services.yaml
pki=$tmp/dist/security
"$rto" coordinator --config "$svc" --set "out=$tmp/manual" --set launch.weight_transport=gloo \
  --set "security.dir=$pki/coordinator" >"$tmp/manual.out" 2>&1 &
coordinator=$!
for _ in $(seq 300); do
  test -f "$tmp/manual/logs/coordinator.json" && break
  sleep 0.1
done
address=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['address'])" "$tmp/manual/logs/coordinator.json")
"$bin/rto-rollout" --config "$svc" --coordinator "$address" --set "security.dir=$pki/scorer" >"$tmp/impostor.log" 2>&1
check "a worker with another role's credentials is refused and exits 1" test $? -eq 1
check "saying why" contains "$tmp/impostor.log" "the scorer may not register as a rollout worker"
workers=()
for role in learner critic scorer rollout rollout; do
  "$bin/rto-$role" --config "$svc" --coordinator "$address" --set "security.dir=$pki/$role" \
    >>"$tmp/manual-workers.log" 2>&1 &
  workers+=($!)
done
wait "$coordinator"
check "rto coordinator with workers started by hand exits 0" test $? -eq 0
check "and ends with the launched run's weights" cmp -s "$tmp/dist/final/model.safetensors" \
  "$tmp/manual/final/model.safetensors"
check "through Gloo" contains "$tmp/manual.out" "weights go to the rollout workers through gloo"
exited=0
for _ in $(seq 100); do
  exited=0
  for pid in "${workers[@]}"; do kill -0 "$pid" 2>/dev/null || exited=$((exited + 1)); done
  test "$exited" -eq 5 && break
  sleep 0.1
done
check "the workers exit when the run is over" test "$exited" -eq 5
check "the workers say why" test "$(grep -c "the coordinator finished the run" "$tmp/manual-workers.log")" -eq 5

echo "launch_test: $failures failure(s)"
test "$failures" -eq 0
