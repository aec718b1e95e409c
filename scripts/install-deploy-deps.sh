#!/usr/bin/env bash
# Installs what scripts/compose_test.sh needs to run deploy/docker-compose.yml in containers, all
# from Debian bookworm: podman (daemonless containers; its Docker-compatible API for Compose),
# runc, debootstrap (the base image is made from Debian's packages: no registry needed),
# docker-compose, curl, and netavark with aardvark-dns and iptables. Idempotent.
#
# Compose's services find each other by name ("coordinator:50051"), which needs the network's DNS:
# netavark's aardvark-dns. Left to itself apt may satisfy podman's container-network-stack with
# the CNI plugins instead, whose networks have no DNS without a further plugin; the containers
# then start but never reach each other. So netavark is installed by name and chosen in
# /etc/containers/containers.conf.d/50-rto-netavark.conf where no network_backend is set yet
# (containers made earlier on CNI networks must be made again). netavark sets up each network's
# forwarding and NAT with iptables, which its package does not pull in: without it every
# container start fails with "netavark: No such file or directory".
#
# /etc/containers/containers.conf, when absent, gets two settings that unprivileged sandboxes
# (like the development and CI machines) need and that are harmless elsewhere: runc as the
# runtime (crun refuses their cgroup layout) and no default ulimits (setrlimit is refused there).
set -euo pipefail
packages=(podman runc debootstrap uidmap slirp4netns docker-compose curl netavark aardvark-dns iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -e /etc/containers/containers.conf ]; then
  printf '[engine]\nruntime = "runc"\n[containers]\ndefault_ulimits = []\n' | $sudo tee /etc/containers/containers.conf >/dev/null
fi
if ! grep -qs '^ *network_backend' /etc/containers/containers.conf /etc/containers/containers.conf.d/*.conf; then
  $sudo mkdir -p /etc/containers/containers.conf.d
  printf '[network]\nnetwork_backend = "netavark"\n' | $sudo tee /etc/containers/containers.conf.d/50-rto-netavark.conf >/dev/null
fi
echo "install-deploy-deps: ${packages[*]} present"
