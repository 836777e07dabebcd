#!/usr/bin/env bash
# A 4-peer Vigil testnet without Docker: one network namespace per peer on a bridge of our own,
# each peer a real `vigil node start` process inside its namespace.
#
#   netns-testnet.sh up [--nodes N]      create namespaces, bridge, genesis (first time), start peers
#   netns-testnet.sh down [--purge]      stop peers, remove namespaces, veths, bridge, iptables rules
#                                        (--purge also deletes the testnet directory)
#   netns-testnet.sh partition vp1                 cut vp1 off from the other peers
#   netns-testnet.sh partition vp0,vp1 vp2,vp3     split the network in two
#   netns-testnet.sh heal                          remove every partition
#   netns-testnet.sh stop vpN [--kill]   SIGTERM (clean stop) or SIGKILL (crash) one peer
#   netns-testnet.sh start vpN           start one peer again (it catches up by block sync)
#   netns-testnet.sh status              heights, views and primaries, partition, processes
#   netns-testnet.sh urls | logs vpN [lines]
#
# Environment: VIGIL_NETNS_DIR (testnet directory, default /tmp/vigil-netns),
# VIGIL_NETNS_NAME (prefix of namespaces, bridge and veths, default vigil),
# VIGIL_NETNS_SUBNET (first three octets of the /24, default 10.77.0; the bridge is .1, peers .11..).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

DIR="${VIGIL_NETNS_DIR:-/tmp/vigil-netns}"
NAME="${VIGIL_NETNS_NAME:-vigil}"
SUBNET="${VIGIL_NETNS_SUBNET:-10.77.0}"
BRIDGE="${NAME}br0"
STATE_DIR="$DIR"
NET="$DIR/net"
NODES=4
[ -f "$NET/testnet.json" ] && NODES=$(node -e 'console.log(require(process.argv[1]).nodes.length)' "$NET/testnet.json")
[ ${#BRIDGE} -le 15 ] || die "VIGIL_NETNS_NAME \"$NAME\" is too long for interface names"

ns() { echo "${NAME}-vp$1"; }
peer_ip() { echo "$SUBNET.$((11 + $1))"; }
peer_exec() { local i="$1"; shift; ip netns exec "$(ns "$i")" "$@"; }
api_url() { echo "http://$(peer_ip "$1"):$((8700 + $1))"; }
pid_file() { echo "$NET/vp$1/node.pid"; }
peer_pid() { local f; f="$(pid_file "$1")"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }
all_urls() { local u=(); for ((i = 0; i < NODES; i++)); do u+=("$(api_url "$i")"); done; (IFS=,; echo "${u[*]}"); }

# With dockerd on the host FORWARD defaults to DROP and bridged frames go through iptables:
# accept everything between ports of our bridge.
forward_rule() { iptables "$1" FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; }

net_up() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  forward_rule -C || forward_rule -I
  for ((i = 0; i < NODES; i++)); do
    ip netns add "$(ns "$i")"
    ip link add "${NAME}v$i" type veth peer name eth0 netns "$(ns "$i")"
    ip link set "${NAME}v$i" master "$BRIDGE" up
    peer_exec "$i" ip addr add "$(peer_ip "$i")/24" dev eth0
    peer_exec "$i" ip link set lo up
    peer_exec "$i" ip link set eth0 up
    ensure_part_chain "$i"
  done
}

net_down() {
  for ((i = 0; i < 64; i++)); do
    ip netns list | grep -qw "$(ns "$i")" || continue
    # Anything still running in a namespace of ours (by pid, only inside that namespace).
    for p in $(ip netns pids "$(ns "$i")"); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$(ns "$i")"
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  while forward_rule -C; do forward_rule -D; done
}

start_peer() {
  local i="$1"
  [ -z "$(peer_pid "$i")" ] || die "vp$i is already running (pid $(peer_pid "$i"))"
  # setsid: the peer outlives this shell and its terminal; ip netns exec, setsid and env exec, so $! is node's pid.
  # The malloc settings keep freed memory from staying resident (packages/node/src/process-memory.ts).
  ip netns exec "$(ns "$i")" setsid env MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}" node "$VIGIL_BIN" node start --home "$NET/vp$i" >>"$NET/vp$i/node.log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$i")"
}

# Signals peers, then waits for all of them together (at most 15 s, then SIGKILL).
stop_peers() {
  local sig="$1" i pid; shift
  local -a pids=()
  for i in "$@"; do
    if pid="$(peer_pid "$i")"; then kill "-$sig" "$pid"; pids+=("$pid"); else log "vp$i is not running"; fi
    rm -f "$(pid_file "$i")"
  done
  for _ in $(seq 1 150); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && { log "pid $pid ignored SIG$sig for 15s: SIGKILL"; kill -9 "$pid"; }; done
  return 0
}

cmd_up() {
  require_root
  [ "${1:-}" = --nodes ] && NODES="$2"
  "$DEPLOY_DIR/ensure-tools.sh" netns
  ip link show "$BRIDGE" >/dev/null 2>&1 && die "already up (bridge $BRIDGE exists): run down first"
  mkdir -p "$DIR"
  if [ ! -f "$NET/testnet.json" ]; then
    local hosts=()
    for ((i = 0; i < NODES; i++)); do hosts+=("$(peer_ip "$i")"); done
    node "$VIGIL_BIN" testnet init --dir "$NET" --nodes "$NODES" --base-port 8600 --hosts "$(IFS=,; echo "${hosts[*]}")" --chain-id vigil-netns >&2
  fi
  net_up
  for ((i = 0; i < NODES; i++)); do start_peer "$i"; done
  for ((i = 0; i < NODES; i++)); do wait_http "$(api_url "$i")/readyz" 60 || { tail -20 "$NET/vp$i/node.log" >&2; exit 1; }; done
  log "up: $NODES peers, APIs $(all_urls), directory $DIR"
}

cmd_down() {
  require_root
  stop_peers TERM $(seq 0 $((NODES - 1)))
  net_down
  rm -f "$STATE_DIR/partition"
  [ "${1:-}" = --purge ] && rm -rf "$DIR"
  log "down"
}

cmd_status() {
  partition_state
  for ((i = 0; i < NODES; i++)); do echo "vp$i  $(peer_ip "$i")  pid $(peer_pid "$i" || echo '- (stopped)')"; done
  vigil_status "$(all_urls)"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  partition) require_root; cmd_partition "$@" ;;
  heal) require_root; cmd_heal ;;
  stop) require_root; stop_peers "$([ "${2:-}" = --kill ] && echo KILL || echo TERM)" "$(peer_index "${1:-}")" ;;
  start) require_root; i="$(peer_index "${1:-}")"; start_peer "$i"; wait_http "$(api_url "$i")/healthz" 30 ;;
  status) cmd_status ;;
  urls) all_urls ;;
  logs) tail -n "${2:-50}" "$NET/vp$(peer_index "${1:-}")/node.log" ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
