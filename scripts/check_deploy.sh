#!/usr/bin/env bash
# Validates deploy/ with the tools that understand each file, where they are installed:
#   docker compose / docker-compose config   deploy/docker-compose.yml
#   promtool check config                    deploy/prometheus/*.yml
#   kubectl kustomize + kubernetes-validate  deploy/k8s/overlays/* (strict, against Kubernetes 1.29)
# and regenerates the Grafana dashboard to check it is up to date. A missing tool is reported
# and skipped; any tool that finds a problem fails the script.
set -uo pipefail
cd "$(dirname "$0")/.."
failed=0
run() {  # run NAME COMMAND...
  local name=$1; shift
  if "$@" >/tmp/check_deploy.out 2>&1; then echo "ok    $name"; else echo "FAIL  $name"; cat /tmp/check_deploy.out; failed=1; fi
}
skip() { echo "skip  $1 ($2 not installed)"; }

if docker compose version >/dev/null 2>&1; then
  run "docker-compose.yml" docker compose -f deploy/docker-compose.yml config -q
elif command -v docker-compose >/dev/null; then
  run "docker-compose.yml" docker-compose -f deploy/docker-compose.yml config -q
else
  skip "docker-compose.yml" "docker compose"
fi
if command -v promtool >/dev/null; then
  for f in deploy/prometheus/*.yml; do
    # Debian's promtool is built without Kubernetes service discovery.
    if [[ $f == *k8s* ]] && promtool --version 2>&1 | grep -q '+ds'; then
      skip "$f" "a promtool with Kubernetes discovery"
      continue
    fi
    run "$f" promtool check config "$f"
  done
else
  skip "deploy/prometheus" "promtool"
fi
if command -v kubectl >/dev/null && command -v kubernetes-validate >/dev/null; then
  for overlay in deploy/k8s/overlays/*/; do
    kubectl kustomize "$overlay" >/tmp/check_deploy.k8s.yaml &&
      run "${overlay%/}" kubernetes-validate --strict --quiet -k 1.29 /tmp/check_deploy.k8s.yaml
  done
else
  skip "deploy/k8s" "kubectl and kubernetes-validate"
fi
cp deploy/grafana/dashboards/rto.json /tmp/check_deploy.dashboard.json
python3 scripts/make_grafana_dashboard.py >/dev/null
run "Grafana dashboard up to date" cmp deploy/grafana/dashboards/rto.json /tmp/check_deploy.dashboard.json
exit $failed
