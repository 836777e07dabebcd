#!/usr/bin/env bash
# Installs the system tools a testnet needs, only when they are missing (CI starts from a fresh
# machine; bootstrap.sh stays free of system packages).
#   ensure-tools.sh netns    iproute2, iptables
#   ensure-tools.sh docker   docker.io (dockerd), docker-compose v1, iptables
set -euo pipefail

need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }

case "${1:-}" in
  netns) want ip iproute2; want iptables iptables; want nsenter util-linux ;;
  docker) want dockerd docker.io; want docker-compose docker-compose; want iptables iptables; want nsenter util-linux ;;
  *) echo "usage: $0 netns|docker" >&2; exit 2 ;;
esac

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${need[*]}: run as root to install them" >&2
  exit 1
fi
echo "installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
