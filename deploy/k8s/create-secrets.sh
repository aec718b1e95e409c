#!/usr/bin/env bash
# Creates (or replaces) the run's Secrets from the credentials `rto security init` made:
#   rto security init --out creds --host rto
#   deploy/k8s/create-secrets.sh creds [NAMESPACE]
# Each principal gets rto-<principal>-tls (ca.crt, tls.crt, tls.key: the layout of a
# cert-manager Certificate's Secret, which may replace it) and rto-<principal>-token (token,
# tokens.sha256); a pod mounts its own principal's two, nothing else. The operator's
# credentials stay on the operator's machine (rto ctl --security-dir creds/operator).
set -euo pipefail
dir=$1
namespace=${2:-rto}
for p in coordinator learner critic scorer rollout; do
  kubectl -n "$namespace" create secret generic "rto-$p-tls" --from-file="$dir/$p/ca.crt" \
    --from-file="$dir/$p/tls.crt" --from-file="$dir/$p/tls.key" --dry-run=client -o yaml | kubectl apply -f -
  kubectl -n "$namespace" create secret generic "rto-$p-token" --from-file="$dir/$p/token" \
    --from-file="$dir/$p/tokens.sha256" --dry-run=client -o yaml | kubectl apply -f -
done
