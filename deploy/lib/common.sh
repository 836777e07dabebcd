# Shared by netns-testnet.sh and testnet.sh. The sourcing script defines:
#   peer_exec I CMD...   run CMD inside peer I's network namespace
#   peer_ip I            peer I's address on the testnet network
#   NODES                number of peers
#   STATE_DIR            where the partition state is kept
# Partitions are iptables DROP rules in a chain of our own (VIGIL-PART) inside each peer's
# namespace: packets vanish silently, as in a real partition, and heal is one flush per peer.

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$DEPLOY_DIR/.." && pwd)"
VIGIL_BIN="${VIGIL_BIN:-$REPO_DIR/packages/cli/bin/vigil.js}"
PART_CHAIN=VIGIL-PART

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "$(basename "$0"): $*" >&2; }

require_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces and iptables)"; }

# vpN -> N, checked against NODES.
peer_index() {
  local n="${1#vp}"
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -lt "$NODES" ] || die "unknown peer \"$1\" (vp0..vp$((NODES - 1)))"
  echo "$n"
}

# Polls URL until it answers 2xx, at most SECONDS seconds.
wait_http() {
  local url="$1" secs="$2" end=$((SECONDS + $2))
  until node -e "fetch(process.argv[1],{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$url"; do
    [ $SECONDS -lt $end ] || die "$url did not answer within ${secs}s"
    sleep 0.3
  done
}

ensure_part_chain() {
  local i="$1"
  peer_exec "$i" iptables -N "$PART_CHAIN" 2>/dev/null || true
  for hook in INPUT OUTPUT; do
    peer_exec "$i" iptables -C "$hook" -j "$PART_CHAIN" 2>/dev/null || peer_exec "$i" iptables -I "$hook" -j "$PART_CHAIN"
  done
}

# Prints one group number per peer. "vp1" isolates vp1 from the rest; "vp0,vp1 vp2,vp3" splits
# in two; peers named in no group form one more group together.
partition_groups() {
  local -a group
  local g=1 spec p
  for ((i = 0; i < NODES; i++)); do group[i]=0; done
  for spec in "$@"; do
    IFS=, read -ra members <<<"$spec"
    for p in "${members[@]}"; do group[$(peer_index "$p")]=$g; done
    g=$((g + 1))
  done
  echo "${group[@]}"
}

# Applies a partition to the peers whose namespace exists now (peer_exec fails for the others;
# they get the rules when started: see reapply_partition).
apply_partition_to() {
  local i="$1"; shift
  local -a group
  read -ra group <<<"$(partition_groups "$@")"
  ensure_part_chain "$i" || return 1
  peer_exec "$i" iptables -F "$PART_CHAIN"
  for ((j = 0; j < NODES; j++)); do
    [ "${group[i]}" = "${group[j]}" ] && continue
    peer_exec "$i" iptables -A "$PART_CHAIN" -s "$(peer_ip "$j")" -j DROP
    peer_exec "$i" iptables -A "$PART_CHAIN" -d "$(peer_ip "$j")" -j DROP
  done
}

cmd_partition() {
  [ $# -ge 1 ] || die "usage: partition vpA[,vpB..] [vpC[,vpD..]]"
  partition_groups "$@" >/dev/null
  echo "$*" >"$STATE_DIR/partition"
  for ((i = 0; i < NODES; i++)); do apply_partition_to "$i" "$@" 2>/dev/null || log "vp$i is not running: it gets the rules when started"; done
  log "partitioned: $*"
}

cmd_heal() {
  rm -f "$STATE_DIR/partition"
  for ((i = 0; i < NODES; i++)); do peer_exec "$i" iptables -F "$PART_CHAIN" 2>/dev/null || true; done
  log "healed"
}

# A peer whose namespace was recreated (container restart) gets the current partition again.
reapply_partition() {
  local i="$1"
  ensure_part_chain "$i"
  [ -f "$STATE_DIR/partition" ] || return 0
  # shellcheck disable=SC2046
  apply_partition_to "$i" $(cat "$STATE_DIR/partition")
}

partition_state() { if [ -f "$STATE_DIR/partition" ]; then echo "partition: $(cat "$STATE_DIR/partition")"; else echo "partition: none"; fi; }

# The operator's view: one row per peer (height, last block, view, primary).
vigil_status() { node "$VIGIL_BIN" status --node "$1" || true; }
