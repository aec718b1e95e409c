#!/usr/bin/env bash
# deploy/docker-compose.yml in real containers on this machine, with podman and Docker Compose
# (docker-compose talking to `podman system service`'s Docker API):
#   1. makes the base image debian:bookworm-slim from Debian's packages (debootstrap) if missing,
#      builds the rto image (docker/Dockerfile.cpu) and a Prometheus image from Debian's package
#      (docker/Dockerfile.prometheus), and checks the rto image: non-root, a HEALTHCHECK, its size;
#   2. makes the principals' credentials with the image's `rto security init` and brings the stack
#      up (models, coordinator, learner, critic, scorer, 2 rollout replicas, Prometheus) on the
#      synthetic task, with a longer run than the default (RTO_CONFIG in the runs volume);
#   3. while the run goes on: every Prometheus target is up, `rto ctl status` answers from a
#      container, a HEALTHCHECK passes; then kills (SIGKILL from the host, as the OOM killer does)
#      one container of each role in turn, rollout, scorer, critic, learner and the coordinator,
#      each after the run recovered from the one before: compose's restart policy restarts it and
#      the coordinator takes it back (or, for the coordinator, resumes from its checkpoint);
#   4. the run ends with every worker's weights verified; its final policy is bitwise equal to the
#      same run without kills (`rto launch` in the same image); every PromQL expression of every
#      panel of deploy/grafana/dashboards/rto.json returns data over the run from Prometheus;
#   5. the stack comes down with no container, volume or network left.
# Exits 77 (ctest: skipped) with the reason when podman cannot build or run containers here.
# Usage: scripts/compose_test.sh [--keep-images]   (images are kept either way; --keep-images
# skips rebuilding rto:cpu when it exists, for iterating on this script)
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
project=rto-compose-test
reuse_images=0
[[ ${1:-} == --keep-images ]] && reuse_images=1
skip() { echo "SKIP compose_test: $*"; exit 77; }
say() { echo "[$(date +%T)] $*"; }
failures=0
check() {  # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
fails() { ! "$@" >/dev/null 2>&1; }

command -v podman >/dev/null || skip "podman is not installed (scripts/install-deploy-deps.sh installs it)"
command -v docker-compose >/dev/null || skip "docker-compose is not installed (scripts/install-deploy-deps.sh installs it)"
podman info >/dev/null 2>&1 || skip "podman info fails: $(podman info 2>&1 | tail -1)"

tmp=$(mktemp -d)
service_pid=
compose() { docker-compose -p "$project" -f deploy/docker-compose.yml "$@"; }
cleanup() {
  compose down -v --remove-orphans >/dev/null 2>&1
  [[ -n $service_pid ]] && kill "$service_pid" 2>/dev/null
  rm -rf "$tmp" 2>/dev/null || podman unshare rm -rf "$tmp"
}
trap cleanup EXIT

# 1. Images.
if ! podman image exists docker.io/library/debian:bookworm-slim; then
  command -v debootstrap >/dev/null || skip "no base image and no debootstrap to make it"
  say "making debian:bookworm-slim with debootstrap"
  debootstrap --variant=minbase bookworm "$tmp/rootfs" http://deb.debian.org/debian >"$tmp/debootstrap.log" 2>&1 ||
    skip "debootstrap failed (no Debian mirror reachable?): $(tail -1 "$tmp/debootstrap.log")"
  tar -C "$tmp/rootfs" -c . | podman import - docker.io/library/debian:bookworm-slim >/dev/null
  rm -rf "$tmp/rootfs"
fi
podman run --rm --network=none docker.io/library/debian:bookworm-slim true >"$tmp/run.log" 2>&1 ||
  skip "podman cannot run a container here: $(tail -1 "$tmp/run.log")"
# --format docker keeps HEALTHCHECK; the host's CA bundle lets pip inside the build reach PyPI
# where this machine reaches it through a proxy with its own CA.
build=(podman build --format docker --network=host)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] &&
  build+=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt)
if [[ $reuse_images == 0 ]] || ! podman image exists localhost/rto:cpu; then
  say "building rto:cpu"
  "${build[@]}" -f docker/Dockerfile.cpu -t rto:cpu . >"$tmp/build.log" 2>&1 ||
    { tail -30 "$tmp/build.log"; echo "FAIL the rto image builds"; exit 1; }
fi
say "building rto-prometheus:debian"
"${build[@]}" -f docker/Dockerfile.prometheus -t rto-prometheus:debian . >"$tmp/build-prometheus.log" 2>&1 ||
  { tail -30 "$tmp/build-prometheus.log"; echo "FAIL the Prometheus image builds"; exit 1; }
size_mb=$(($(podman image inspect localhost/rto:cpu --format '{{.Size}}') / 1000000))
echo "rto:cpu is $size_mb MB"
check "the rto image runs as uid 10001" test "$(podman image inspect localhost/rto:cpu --format '{{.Config.User}}')" = 10001:10001
check "the rto image has a HEALTHCHECK (rto health)" grep -q 'rto health' <(podman image inspect localhost/rto:cpu --format '{{.Config.Healthcheck.Test}}')
check "the final stage holds no compiler" fails podman run --rm --entrypoint sh rto:cpu -c 'command -v c++ || command -v cmake'

# 2. The stack: a private Docker API socket, the credentials, the run's config in the volume.
podman system service --time=0 "unix://$tmp/podman.sock" >"$tmp/service.log" 2>&1 &
service_pid=$!
export DOCKER_HOST=unix://$tmp/podman.sock
for _ in $(seq 50); do [[ -S $tmp/podman.sock ]] && break; sleep 0.1; done
compose down -v --remove-orphans >/dev/null 2>&1  # what an interrupted run left
mkdir -p "$tmp/secrets"
podman run --rm -v "$tmp/secrets:/out" --user 0 --entrypoint sh rto:cpu \
  -c 'rto security init --out /out --host rto --host coordinator >/dev/null && chown -R 10001:10001 /out'
export RTO_SECRETS=$tmp/secrets PROMETHEUS_IMAGE=localhost/rto-prometheus:debian
export RTO_CONFIG=runs/compose-test.yaml ROLLOUT_WORKERS=2
volume=${project}_runs
podman volume create --label "com.docker.compose.project=$project" --label com.docker.compose.volume=runs \
  "$volume" >/dev/null
runs=$(podman volume inspect "$volume" --format '{{.Mountpoint}}')
# Long enough for five kills and their recoveries (a step takes about 0.2 s here), with an
# evaluation every 200 steps instead of 10.
steps=400
sed -e "s/^steps: 60\$/steps: $steps/" -e 's/^  every: 10$/  every: 200/' configs/rto.yaml >"$tmp/rto.yaml"
check "the test's config differs from the default as intended" test "$(diff configs/rto.yaml "$tmp/rto.yaml" | grep -c '^>')" -eq 2
podman run --rm -i -v "$volume:/opt/rto/runs" --entrypoint sh rto:cpu -c "cat > $RTO_CONFIG" <"$tmp/rto.yaml"
services=(coordinator learner critic scorer rollout prometheus)
say "compose up: ${services[*]} (and models, which they depend on)"
start=$(date +%s)
compose up -d "${services[@]}" >"$tmp/up.log" 2>&1 || { cat "$tmp/up.log"; echo "FAIL compose up"; exit 1; }

container() { podman ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1" | head -1; }
last_step() { tail -1 "$runs/compose/rto/metrics.jsonl" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["step"])' 2>/dev/null || echo -1; }
promql() {  # promql EXPR: the instant query's result as JSON
  curl -s --get --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query
}
wait_until() {  # wait_until SECONDS WHAT COMMAND...: runs COMMAND every second until it succeeds
  local seconds=$1 what=$2; shift 2
  for _ in $(seq "$seconds"); do "$@" && return 0; sleep 1; done
  echo "FAIL waited $seconds s for $what"; failures=$((failures + 1)); return 1
}
step_past() { test "$(last_step)" -ge "$1"; }
recovered() {  # recovered ROLE: the coordinator counts a recovery from a lost ROLE (through Prometheus)
  promql "sum(rto_coordinator_recoveries_total{role=\"$1\"})" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and float(r[0]["value"][1]) >= 1 else 1)'
}
restarted() { test "$(podman inspect "$1" --format '{{.RestartCount}}')" -ge 1; }
targets_up() {  # every target Prometheus found is up, and there are $1 of them
  curl -s http://127.0.0.1:9090/api/v1/targets | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if len(t) == int(sys.argv[1]) and all(x["health"] == "up" for x in t) else 1)' "$1"
}

# The services reach each other by name through the network's DNS (aardvark-dns under netavark).
resolves() { podman exec "$(container learner)" getent hosts coordinator >/dev/null 2>&1; }
if ! wait_until 300 "the name 'coordinator' to resolve in the learner's container" resolves; then
  echo "podman's network backend: $(podman info --format '{{.Host.NetworkBackend}}')," \
    "the network's DNS: $(podman network inspect "${project}_default" --format '{{.DNSEnabled}}')" \
    "(scripts/install-deploy-deps.sh installs netavark and aardvark-dns and chooses netavark)"
  podman ps -a --filter "label=com.docker.compose.project=$project" --format '{{.Names}} {{.Status}}'
  exit 1
fi
if ! wait_until 600 "the run's 5th step (models made, every role registered)" step_past 5; then
  compose logs --tail 20; exit 1
fi
say "the run is at step $(last_step)"
check "two rollout replicas run" test "$(podman ps -q --filter "label=com.docker.compose.project=$project" \
  --filter label=com.docker.compose.service=rollout | wc -l)" -eq 2
wait_until 60 "every Prometheus target up (coordinator, learner, critic, scorer, 2 rollout)" targets_up 6 &&
  echo "ok   Prometheus scrapes 6 targets, all up"
compose run --rm ctl status >"$tmp/ctl.out" 2>&1
check "rto ctl status answers from a container" grep -q "state RUNNING" "$tmp/ctl.out"
check "rto ctl status lists 5 live workers" test "$(grep -c ' alive ' "$tmp/ctl.out")" -eq 5
check "the learner's HEALTHCHECK passes" podman healthcheck run "$(container learner)"
check "services run as uid 10001" test "$(podman exec "$(container scorer)" id -u)" = 10001

# 3. One container of each role killed in turn; each time the run must recover and go on.
running() {  # the run is far enough from its end for one more kill and its recovery
  test "$(last_step)" -lt $((steps - 100)) || { echo "FAIL the run is too near its end for the next kill"; exit 1; }
}
for role in rollout scorer critic learner; do
  running
  cid=$(container "$role")
  at=$(last_step)
  say "kill -9 $role ($cid) at step $at"
  kill -9 "$(podman inspect "$cid" --format '{{.State.Pid}}')"
  wait_until 180 "the coordinator to recover from the lost $role" recovered "$role" &&
    wait_until 180 "the run to go past step $((at + 3)) after the $role kill" step_past $((at + 3)) &&
    echo "ok   the run recovered from the lost $role (restarts: $(podman inspect "$cid" --format '{{.RestartCount}}'))"
done
running
cid=$(container coordinator)
at=$(last_step)
say "kill -9 coordinator at step $at"
kill -9 "$(podman inspect "$cid" --format '{{.State.Pid}}')"
wait_until 120 "the coordinator to be restarted" restarted "$cid"
wait_until 240 "the resumed run to go past step $((at + 3))" step_past $((at + 3)) &&
  echo "ok   the restarted coordinator resumed the run"

# 4. The end of the run.
say "waiting for the run to end"
podman wait "$cid" >"$tmp/exit" 2>&1
compose logs --no-color coordinator >"$tmp/coordinator.log" 2>&1
check "the coordinator exits 0" test "$(podman inspect "$cid" --format '{{.State.ExitCode}}')" = 0
echo "the coordinator's recoveries:"
grep -e "recovered: back at step" -e "scorer pool: replica" "$tmp/coordinator.log" | sed 's/^/  /'
echo "the run: $(( $(date +%s) - start )) s from compose up"
check "every worker's weights verified at the end" \
  grep -q "weights verified: the learner and 2 rollout workers hold version $steps " "$tmp/coordinator.log"
check "metrics.jsonl holds each of the $steps steps once" test "$(python3 -c '
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1])]
print(int(steps == list(range(int(sys.argv[2])))))' "$runs/compose/rto/metrics.jsonl" "$steps")" = 1
end=$(date +%s)
say "the same run without kills: rto launch in the same image"
podman run --rm -v "$volume:/opt/rto/runs" rto:cpu launch --config "$RTO_CONFIG" --set out=runs/reference \
  --set threads.intra_op=1 >"$tmp/reference.log" 2>&1
check "the undisturbed run finishes" grep -q "weights verified" "$tmp/reference.log"
check "final policy bitwise equal to the undisturbed run's" cmp -s "$runs/compose/rto/final/model.safetensors" \
  "$runs/reference/final/model.safetensors"

python3 - "$src/deploy/grafana/dashboards/rto.json" "$start" "$end" >"$tmp/panels.out" <<'PY'
import json, math, sys, urllib.parse, urllib.request
# Every query of every panel, over the run's time, returns at least one finite value.
dashboard, start, end = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
empty = []
count = 0
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        count += 1
        q = urllib.parse.urlencode({"query": target["expr"], "start": start, "end": end, "step": "5"})
        answer = json.load(urllib.request.urlopen(f"http://127.0.0.1:9090/api/v1/query_range?{q}"))
        values = [float(v) for series in answer["data"]["result"] for _, v in series["values"]]
        if not any(math.isfinite(v) for v in values):
            empty.append(f'{panel["title"]}: {target["expr"]}')
print(f"{count} queries of {len(dashboard['panels'])} panels; without data: {len(empty)}")
for e in empty: print("  ", e)
sys.exit(1 if empty or count == 0 else 0)
PY
check "every dashboard query returns data ($(head -1 "$tmp/panels.out"))" test $? -eq 0
tail -n +2 "$tmp/panels.out"

# 5. Down, and nothing left.
compose down -v --remove-orphans >"$tmp/down.log" 2>&1
check "compose down" test $? -eq 0
label=label=com.docker.compose.project=$project
check "no container left" test -z "$(podman ps -aq --filter "$label")"
check "no volume left" test -z "$(podman volume ls -q --filter "$label")"
check "no network left" test -z "$(podman network ls -q --filter "$label")"

if [[ $failures -gt 0 ]]; then
  echo "--- coordinator log (tail)"; tail -40 "$tmp/coordinator.log"
  echo "compose_test: $failures failures"; exit 1
fi
echo "compose_test: all passed ($(( $(date +%s) - start )) s from compose up)"
