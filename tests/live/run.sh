#!/usr/bin/env bash
# The live rig: a Samba AD DC in a network namespace of its own, scripted DCE/RPC clients in a
# second namespace joined to it by a veth pair, dumpcap on the client's side of the pair.
#
#   tests/live/run.sh            regenerate tests/live/captures/*.pcapng and tests/live/logs/*.json
#   tests/live/run.sh --check    the same, then check the plugin against them (cargo test --test live)
#   tests/live/run.sh --keep     leave the provisioned DC in target/live/ for a look (namespaces are still removed)
#
# Needs root (network namespaces). Installs what it lacks (Debian's samba, smbclient, tshark; the
# pinned impacket from PyPI into target/live/venv). Safe to run again: it removes its namespaces,
# processes and the previous DC before starting, and again on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LIVE=$ROOT/tests/live
WORK=$ROOT/target/live
CHECK=0
KEEP=0
for a in "$@"; do
  case $a in
    --check) CHECK=1 ;;
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--check] [--keep]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (ip netns)" >&2; exit 1; }

# Fixed names so every run is the same domain, the same users and the same addresses.
NS_DC=dcomauth-dc
NS_CL=dcomauth-cl
DC_IP=10.53.0.1
CL_IP=10.53.0.2
REALM=SAMDOM.EXAMPLE
DOMAIN=SAMDOM
ADMINPASS='Adm1n-Pass.2024'
export DCOMAUTH_LIVE_DC_IP=$DC_IP DCOMAUTH_LIVE_REALM=$REALM DCOMAUTH_LIVE_DOMAIN=$DOMAIN

start=$(date +%s)
log() { printf '[live %3ss] %s\n' "$(($(date +%s) - start))" "$*"; }

# --- what it needs -------------------------------------------------------------------------------
need=()
for pkg in samba samba-dsdb-modules smbclient tshark python3-venv iproute2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  # Keep the packages' own services (smbd, nmbd, samba-ad-dc) from starting outside the namespace.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
VENV=$WORK/venv
if ! "$VENV/bin/python" -c 'import impacket' 2>/dev/null \
   || ! cmp -s "$LIVE/requirements.txt" "$VENV/requirements.txt"; then
  log "creating $VENV with tests/live/requirements.txt"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$LIVE/requirements.txt"
  cp "$LIVE/requirements.txt" "$VENV/requirements.txt"
fi

# --- clean slate, and clean up whatever happens --------------------------------------------------
DC_DIR=$WORK/dc
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # samba -D is not in PIDS (it daemonises); its pid file is.
  if [ -f "$DC_DIR/run/samba.pid" ]; then
    kill "$(cat "$DC_DIR/run/samba.pid")" 2>/dev/null || true
  fi
  # Whatever still runs inside our namespaces is ours.
  for ns in $NS_CL $NS_DC; do
    if ip netns list | grep -qw "$ns"; then
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
      sleep 0.5
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
      ip netns delete "$ns" 2>/dev/null || true
    fi
  done
  [ "$KEEP" = 1 ] || rm -rf "$DC_DIR"
  exit "$rc"
}
trap cleanup EXIT INT TERM
for ns in $NS_CL $NS_DC; do
  if ip netns list | grep -qw "$ns"; then
    for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null || true; done
    ip netns delete "$ns"
  fi
done
rm -rf "$DC_DIR"
mkdir -p "$DC_DIR" "$WORK/out"
rm -f "$WORK"/out/*.json "$WORK"/out/*.pcapng

# --- network: two namespaces, one veth pair, nothing else --------------------------------------
log "namespaces $NS_DC ($DC_IP) and $NS_CL ($CL_IP)"
ip netns add $NS_DC
ip netns add $NS_CL
ip link add dcomauth-v0 netns $NS_DC type veth peer name dcomauth-v1 netns $NS_CL
ip -n $NS_DC addr add $DC_IP/24 dev dcomauth-v0
ip -n $NS_CL addr add $CL_IP/24 dev dcomauth-v1
for ns in $NS_DC $NS_CL; do ip -n $ns link set lo up; done
ip -n $NS_DC link set dcomauth-v0 up
ip -n $NS_CL link set dcomauth-v1 up
# Segments no larger than a real Ethernet's, and no offloads that hand dumpcap 64 KB super-frames.
for pair in "$NS_DC dcomauth-v0" "$NS_CL dcomauth-v1"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done

# --- the DC --------------------------------------------------------------------------------------
# Provisioning takes most of a minute: the provisioned DC (users included) is kept in
# target/live/dc-template and copied afresh for every run, so each run starts from the same state.
PROVISION=(samba-tool domain provision --targetdir="$DC_DIR" --use-rfc2307
  --realm=$REALM --domain=$DOMAIN --adminpass="$ADMINPASS" --server-role=dc
  --dns-backend=SAMBA_INTERNAL --host-name=dc1 --host-ip=$DC_IP
  --option="interfaces = lo dcomauth-v0" --option="bind interfaces only = yes"
  --option="server services = rpc kdc" --option="rpc server port = 49152"
  --option="dcerpc endpoint servers = epmapper lsarpc samr netlogon"
  --option="log file = $DC_DIR/log.%m" --option="log level = 1" --option="ntlm auth = ntlmv2-only")
USERS=(alice bob carol)
KEY=$( (printf '%s\n' "${PROVISION[@]}" "${USERS[@]}"; samba --version) | sha256sum | cut -c1-16)
TEMPLATE=$WORK/dc-template
if [ "$(cat "$TEMPLATE/.key" 2>/dev/null)" != "$KEY" ]; then
  log "provisioning $REALM"
  rm -rf "$TEMPLATE"
  ip netns exec $NS_DC "${PROVISION[@]}" >"$WORK/out/provision.log" 2>&1 || { tail -20 "$WORK/out/provision.log"; exit 1; }
  for u in "${USERS[@]}"; do
    ip netns exec $NS_DC samba-tool user create "$u" "${u^}-Pass.2024" -s "$DC_DIR/etc/smb.conf" >>"$WORK/out/provision.log" 2>&1
  done
  cp -a "$DC_DIR" "$TEMPLATE"
  echo "$KEY" >"$TEMPLATE/.key"
else
  log "reusing the provisioned DC in $TEMPLATE"
  rm -rf "$DC_DIR"
  cp -a "$TEMPLATE" "$DC_DIR"
fi
SMBCONF=$DC_DIR/etc/smb.conf
log "starting samba"
ip netns exec $NS_DC samba -s "$SMBCONF" -D --debug-stdout >"$WORK/out/samba.log" 2>&1 || true
for i in $(seq 1 60); do
  if ip netns exec $NS_CL bash -c "exec 3<>/dev/tcp/$DC_IP/135 && exec 3<>/dev/tcp/$DC_IP/49152" 2>/dev/null; then
    break
  fi
  [ "$i" = 60 ] && { echo "samba did not listen on 135/49152 within 60 s" >&2; tail -30 "$WORK/out/samba.log" >&2; exit 1; }
  sleep 1
done
SAMR_PORT=$(ip netns exec $NS_CL "$VENV/bin/python" "$LIVE/client.py" --dc $DC_IP --resolve)
export DCOMAUTH_LIVE_SAMR_PORT=$SAMR_PORT
log "samba listens on 135; the endpoint mapper puts samr on $SAMR_PORT"

# --- the scenarios -------------------------------------------------------------------------------
mkdir -p "$LIVE/captures" "$LIVE/logs"
run_scenario() {
  local name=$1; shift
  local pcap=$WORK/out/$name.pcapng
  rm -f "$pcap"
  # dumpcap on the client's end of the pair; the client starts once dumpcap reports it is capturing.
  ip netns exec $NS_CL dumpcap -q -i dcomauth-v1 -f "host $DC_IP and tcp" -w "$pcap" >"$WORK/out/$name.dumpcap.log" 2>&1 &
  local dpid=$!
  PIDS+=("$dpid")
  for _ in $(seq 1 50); do
    grep -q "Capturing on" "$WORK/out/$name.dumpcap.log" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.3
  if ! ip netns exec $NS_CL "$@" >"$WORK/out/$name.client.log" 2>&1; then
    echo "scenario $name: client failed:" >&2; tail -30 "$WORK/out/$name.client.log" >&2
    kill "$dpid"; exit 1
  fi
  # Let the server's FIN (if any) and the last ACKs arrive.
  sleep 1.5
  kill -INT "$dpid"; wait "$dpid" || true
  log "captured $name ($(stat -c %s "$pcap") bytes)"
}

PY=$VENV/bin/python
CLIENT=$LIVE/client.py
for s in $("$PY" "$CLIENT" --list); do
  run_scenario "$s" "$PY" "$CLIENT" --dc "$DC_IP" --scenario "$s" --log "$WORK/out/$s.json"
done
# Samba's own client: rpcclient over ncacn_ip_tcp, signed, one identity.
run_scenario rpcclient_one_identity "$PY" "$CLIENT" --dc "$DC_IP" --scenario rpcclient_one_identity \
  --log "$WORK/out/rpcclient_one_identity.json"

# A capture started after the first AUTH3: cut from the full one at the frame the client's log names.
"$PY" "$LIVE/cut.py" "$WORK/out/cut_after_auth.pcapng" "$WORK/out/cut_after_auth.json"

# --- results into the tree -----------------------------------------------------------------------
for j in "$WORK"/out/*.json; do
  s=$(basename "$j" .json)
  cp "$WORK/out/$s.pcapng" "$LIVE/captures/$s.pcapng"
  cp "$j" "$LIVE/logs/$s.json"
done
"$PY" "$LIVE/expect.py" "$LIVE/logs" "$LIVE/captures" "$LIVE/expected"
log "captures in tests/live/captures, client logs in tests/live/logs, expectations in tests/live/expected"

if [ "$CHECK" = 1 ]; then
  cargo build -j1 --quiet
  cargo test -j1 --quiet --test live
fi
log "done"
