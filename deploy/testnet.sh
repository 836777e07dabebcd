#!/usr/bin/env bash
# A 4-peer Vigil testnet in Docker containers (deploy/docker-compose.yml), with partitions.
#
#   testnet.sh up                 start dockerd if needed, build what is missing, start vp0..vp3
#   testnet.sh down [--purge]     remove containers, network and volumes (--purge: also genesis/keys)
#   testnet.sh partition vp1                 cut vp1 off from the other peers
#   testnet.sh partition vp0,vp1 vp2,vp3     split the network in two
#   testnet.sh heal                          remove every partition
#   testnet.sh stop vpN [--kill] | start vpN | pause vpN | unpause vpN
#   testnet.sh status | urls | logs vpN [lines]
#   testnet.sh engine | image     only start dockerd / only build the images
#
# Partitions are iptables DROP rules in each container's network namespace, entered from the host
# with nsenter: packets vanish silently as in a real partition (`docker network disconnect` would
# instead make addresses fail fast).
# Environment: VIGIL_DOCKER_DIR (genesis and keys, default /tmp/vigil-docker), VIGIL_DOCKER_PROJECT
# (compose project, default vigil), VIGIL_DOCKER_SUBNET (default 10.78.0), VIGIL_API_PORT_BASE
# (host ports on 127.0.0.1 for the APIs, default 8700..8703), BASE_IMAGE (default: a local image
# made from the host's node binary, since no registry is reachable here).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

DIR="${VIGIL_DOCKER_DIR:-/tmp/vigil-docker}"
PROJECT="${VIGIL_DOCKER_PROJECT:-vigil}"
export VIGIL_DOCKER_SUBNET="${VIGIL_DOCKER_SUBNET:-10.78.0}"
export VIGIL_TESTNET_DIR="$DIR/net"
export VIGIL_IMAGE="${VIGIL_IMAGE:-vigil-peer:local}"
LOCAL_BASE="vigil-node-base:$(node -v)"
API_BASE="${VIGIL_API_PORT_BASE:-8700}"
STATE_DIR="$DIR"
NODES=4
for ((i = 0; i < NODES; i++)); do export "VIGIL_API_PORT_VP$i=$((API_BASE + i))"; done

compose() { docker-compose -p "$PROJECT" -f "$DEPLOY_DIR/docker-compose.yml" "$@"; }
peer_ip() { echo "$VIGIL_DOCKER_SUBNET.$((11 + $1))"; }
api_url() { echo "http://127.0.0.1:$((API_BASE + $1))"; }
all_urls() { local u=(); for ((i = 0; i < NODES; i++)); do u+=("$(api_url "$i")"); done; (IFS=,; echo "${u[*]}"); }
container_pid() {
  local id pid
  id="$(compose ps -q "vp$1")"; [ -n "$id" ] || return 1
  pid="$(docker inspect -f '{{.State.Pid}}' "$id")"; [ "$pid" != 0 ] || return 1
  echo "$pid"
}
peer_exec() { local i="$1" pid; shift; pid="$(container_pid "$i")" || return 1; nsenter -t "$pid" -n "$@"; }

cmd_engine() {
  require_root
  "$DEPLOY_DIR/ensure-tools.sh" docker
  docker info >/dev/null 2>&1 && return 0
  local dlog=/var/log/vigil-dockerd.log pid
  log "starting dockerd (log: $dlog)"
  setsid dockerd >>"$dlog" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    # A machine where no engine can run (no namespaces, no cgroups) says so at once.
    kill -0 "$pid" 2>/dev/null || { tail -20 "$dlog" >&2; die "dockerd exited at start: $(tail -1 "$dlog")"; }
    sleep 0.5
  done
  tail -20 "$dlog" >&2
  die "dockerd did not come up within 30s"
}

# A base image without a registry: the host's node binary and the shared libraries it and the
# LevelDB addon load, imported as a root filesystem (about 1 s, 100 MB).
build_local_base() {
  local root node lib
  root="$(mktemp -d)"
  node="$(readlink -f "$(command -v node)")"
  mkdir -p "$root/usr/bin" "$root/tmp" && chmod 1777 "$root/tmp"
  cp "$node" "$root/usr/bin/node"
  for lib in $(ldd "$node" | grep -o '/[^ ]*'); do cp -L --parents "$lib" "$root"; done
  tar -C "$root" -c . | docker import -m "node $(node -v) from the host" - "$LOCAL_BASE" >/dev/null
  rm -rf "$root"
}

# What the image is built from: the compiled packages, the lockfile, the Dockerfile. Stored as an image label so
# an unchanged build is not redone (building copies ~9,000 files: about half a minute).
source_stamp() {
  (cd "$REPO_DIR" && find packages/*/dist packages/*/bin packages/*/package.json pnpm-lock.yaml deploy/Dockerfile -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

cmd_image() {
  local build="$DEPLOY_DIR/.build" base="${BASE_IMAGE:-$LOCAL_BASE}" stamp
  if [ -z "${BASE_IMAGE:-}" ] && ! docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
    log "building $LOCAL_BASE from the host's node"
    build_local_base
  fi
  stamp="$(source_stamp)-$base"
  [ "$(docker image inspect -f '{{index .Config.Labels "vigil.build"}}' "$VIGIL_IMAGE" 2>/dev/null)" = "$stamp" ] && return 0
  log "building $VIGIL_IMAGE from $base"
  rm -rf "$build" && mkdir -p "$build/data"
  (cd "$REPO_DIR" && bash scripts/pnpm.sh --silent --filter @vigil/cli deploy --prod --legacy "$build/app" >/dev/null)
  local out
  out="$(DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE_IMAGE=$base" --label "vigil.build=$stamp" -t "$VIGIL_IMAGE" -f "$DEPLOY_DIR/Dockerfile" "$build" 2>&1)" || { echo "$out" >&2; die "docker build failed"; }
  rm -rf "$build"
}

# uid:gid the peer image runs as (its USER, numeric).
image_user() {
  local user; user="$(docker image inspect -f '{{.Config.User}}' "$VIGIL_IMAGE")"
  [[ "$user" =~ ^[1-9][0-9]*:[0-9]+$ ]] || die "$VIGIL_IMAGE runs as \"$user\", not an unprivileged numeric uid:gid"
  echo "$user"
}

cmd_up() {
  cmd_engine
  cmd_image
  mkdir -p "$DIR"
  if [ ! -f "$VIGIL_TESTNET_DIR/testnet.json" ]; then
    local hosts=()
    for ((i = 0; i < NODES; i++)); do hosts+=("$(peer_ip "$i")"); done
    node "$VIGIL_BIN" testnet init --dir "$VIGIL_TESTNET_DIR" --nodes "$NODES" --base-port 8600 --hosts "$(IFS=,; echo "${hosts[*]}")" --chain-id vigil-docker >&2
  fi
  # The peers' homes become the image's user's, modes unchanged: their keys stay 0600.
  chown -R "$(image_user)" "$VIGIL_TESTNET_DIR"/vp*
  compose up -d --no-build >&2
  for ((i = 0; i < NODES; i++)); do reapply_partition "$i"; done
  for ((i = 0; i < NODES; i++)); do wait_http "$(api_url "$i")/readyz" 60 || { compose logs --tail 20 "vp$i" >&2; exit 1; }; done
  log "up: $NODES peers, APIs $(all_urls), genesis and keys in $VIGIL_TESTNET_DIR"
}

cmd_down() {
  require_root
  if docker info >/dev/null 2>&1; then compose down -v --remove-orphans >&2 2>/dev/null || true; fi
  rm -f "$STATE_DIR/partition"
  [ "${1:-}" = --purge ] && rm -rf "$DIR"
  log "down"
}

cmd_status() {
  partition_state
  compose ps
  vigil_status "$(all_urls)"
}

# start/unpause: the container's namespace may be new (start) and must get the current partition.
peer_cmd() {
  local action="$1" i; i="$(peer_index "${2:-}")"
  case "$action" in
    stop) if [ "${3:-}" = --kill ]; then compose kill -s SIGKILL "vp$i"; else compose stop "vp$i"; fi ;;
    start) compose start "vp$i"; reapply_partition "$i"; wait_http "$(api_url "$i")/healthz" 30 ;;
    pause | unpause) compose "$action" "vp$i" ;;
  esac
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) require_root; cmd_up ;;
  down) cmd_down "$@" ;;
  engine) cmd_engine ;;
  image) require_root; cmd_engine; cmd_image ;;
  partition) require_root; cmd_partition "$@" ;;
  heal) require_root; cmd_heal ;;
  stop | start | pause | unpause) require_root; peer_cmd "$cmd" "$@" 2>&1 >&2 ;;
  status) cmd_status ;;
  urls) all_urls ;;
  logs) compose logs --no-color --tail "${2:-50}" "vp$(peer_index "${1:-}")" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
