#!/usr/bin/env bash
# Start a throwaway S3 server for tests and CI: Ceph's RADOS Gateway (radosgw)
# on 127.0.0.1, backed by one monitor and one in-memory OSD.
#
# Ceph is not installed system-wide: its Debian packages (and whichever of their
# dependencies the system lacks) are downloaded once with `apt-get download`,
# unpacked with `dpkg -x` under $RGW_HOME, and run from there. Both steps are
# cached, so later starts only boot the daemons.
#
# Environment (all optional):
#   RGW_HOME             cache + state folder            (default: <repo>/.rgw)
#   RGW_PORT             S3 port on 127.0.0.1             (default: 7480)
#   RGW_ACCESS_KEY       S3 access key of the test user   (default: titan-test-access)
#   RGW_SECRET_KEY       S3 secret key of the test user   (default: titan-test-secret-key-0123456789)
#   RGW_REGION           region reported to clients       (default: us-east-1)
#   RGW_MON_PORT         monitor port                     (default: first free of 6789..6799)
#   RGW_MEMSTORE_BYTES   capacity of the in-memory OSD    (default: 3 GiB)
#   RGW_START_TIMEOUT    seconds to wait for the cluster  (default: 120)
#
# On success it prints TEST_S3_* variables and writes them to $RGW_HOME/env
# (usable with `source`). Running it again while the gateway is up only
# prints them. Stop with scripts/s3-gateway-stop.sh.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

RGW_HOME=${RGW_HOME:-$REPO_ROOT/.rgw}
RGW_PORT=${RGW_PORT:-7480}
RGW_ACCESS_KEY=${RGW_ACCESS_KEY:-titan-test-access}
RGW_SECRET_KEY=${RGW_SECRET_KEY:-titan-test-secret-key-0123456789}
RGW_REGION=${RGW_REGION:-us-east-1}
RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-$((3 * 1024 * 1024 * 1024))}
RGW_START_TIMEOUT=${RGW_START_TIMEOUT:-120}
RGW_USER=titan

# Packages to run from the unpacked tree; their missing dependencies come along.
PACKAGES=(radosgw ceph-mon ceph-osd ceph-common)
# Pools radosgw needs, created up front with few PGs (one OSD holds them all).
POOLS=(.rgw.root default.rgw.log default.rgw.control default.rgw.meta
  default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec)
# Daemon names, as Ceph spells them; each has $RUN/<name>.pid and log/<name>.log.
DAEMONS=(mon.a osd.0 client.rgw)

mkdir -p "$RGW_HOME"
RGW_HOME=$(cd "$RGW_HOME" && pwd)
DEB_DIR=$RGW_HOME/debs
ROOT=$RGW_HOME/root
RUN=$RGW_HOME/run
CONF=$RUN/ceph.conf
ENV_FILE=$RGW_HOME/env

log() { echo "s3-gateway: $*" >&2; }

show_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "----- last lines of $f" >&2
    tail -n 40 "$f" >&2
  done
}

die() {
  log "ERROR: $*"
  exit 1
}

# One start at a time per RGW_HOME (parallel test runners may race here).
exec 9>"$RGW_HOME/lock"
flock 9

# --- packages ---------------------------------------------------------------

# Names of the packages to fetch: the ones we run plus what `apt-get install`
# would add to this system for them. apt's own resolver picks one package per
# "a | b" alternative; `apt-cache depends --recurse` would list every
# alternative (several cron daemons, sudo-ldap, elogind, ...), some of which
# shadow system libraries once they are on LD_LIBRARY_PATH.
resolve_packages() {
  local sim
  sim=$(apt-get -s -q install --no-install-recommends "${PACKAGES[@]}") || return 1
  { awk '$1 == "Inst" { print $2 }' <<<"$sim"; printf '%s\n' "${PACKAGES[@]}"; } | sort -u
}

fetch_debs() {
  [[ -f $DEB_DIR/.complete ]] && return 0
  log "resolving Ceph packages"
  local names
  if ! names=$(resolve_packages 2>/dev/null); then
    # A fresh machine may have no package lists yet.
    [[ $(id -u) -eq 0 ]] || die "apt cannot resolve ${PACKAGES[*]}; run 'apt-get update' first"
    log "package lists missing or stale: running apt-get update"
    apt-get update -q >&2 || die "apt-get update failed"
    names=$(resolve_packages) || die "apt cannot resolve ${PACKAGES[*]}"
  fi
  log "downloading $(wc -l <<<"$names") packages into $DEB_DIR"
  rm -rf "$DEB_DIR.partial"
  mkdir -p "$DEB_DIR.partial"
  # shellcheck disable=SC2086 # one package name per word
  (cd "$DEB_DIR.partial" && apt-get download -q $names) >&2 2> >(grep -v 'unsandboxed as root' >&2) ||
    die "apt-get download failed"
  echo "$names" >"$DEB_DIR.partial/.complete"
  rm -rf "$DEB_DIR"
  mv "$DEB_DIR.partial" "$DEB_DIR"
}

extract_debs() {
  # The marker records which .deb files were unpacked, so a refreshed cache is
  # unpacked again and an interrupted unpack is redone.
  local stamp
  stamp=$(printf '%s\n' "$DEB_DIR"/*.deb | md5sum | cut -d' ' -f1)
  [[ -f $ROOT/.extracted && $(<"$ROOT/.extracted") == "$stamp" ]] && return 0
  log "unpacking packages into $ROOT"
  rm -rf "$ROOT.partial"
  mkdir -p "$ROOT.partial"
  local deb
  for deb in "$DEB_DIR"/*.deb; do
    dpkg -x "$deb" "$ROOT.partial"
  done
  echo "$stamp" >"$ROOT.partial/.extracted"
  rm -rf "$ROOT"
  mv "$ROOT.partial" "$ROOT"
}

fetch_debs
extract_debs

# --- running Ceph from the unpacked tree -----------------------------------

# Library folders: Debian's multiarch dirs (some packages still ship in /lib),
# Ceph's private libs and plugins.
CEPH_LIBDIR=$(dirname "$(compgen -G "$ROOT/usr/lib/*/ceph/libceph-common.so.*" | head -n1)")
MULTIARCH_LIBDIR=$(dirname "$CEPH_LIBDIR")
LIB_PATH=$MULTIARCH_LIBDIR:$CEPH_LIBDIR:$ROOT/lib/$(basename "$MULTIARCH_LIBDIR"):$ROOT/usr/lib:$ROOT/usr/lib/ceph
PY_PATH=$ROOT/usr/lib/python3/dist-packages
# The rados Python binding is built for Debian's python3; use that interpreter
# (unpacked too if the system has none), not whichever python3 is first on PATH.
if [[ -x $ROOT/usr/bin/python3 ]]; then
  PYTHON=(env PYTHONHOME="$ROOT/usr" "$ROOT/usr/bin/python3")
else
  PYTHON=(/usr/bin/python3)
fi

# Run a Ceph binary from the unpacked tree (LD_LIBRARY_PATH only for it).
ceph_bin() {
  local bin=$1
  shift
  env LD_LIBRARY_PATH="$LIB_PATH" "$ROOT/usr/bin/$bin" "$@"
}

# Run Python code (stdin) that talks to the cluster through librados. It gets a
# helper `mon(prefix, **args)` and the command line arguments after the code.
# Used instead of the `ceph` CLI: one process for many commands, with retries.
rados_py() {
  local code
  code=$(
    cat <<'EOF'
import json, sys, time
import rados

conf = sys.argv[1]
args = sys.argv[2:]

def command(handle, prefix, **kw):
    kw["prefix"] = prefix
    kw.setdefault("format", "json")
    return handle.mon_command(json.dumps(kw), b"")

# A client that talks to a monitor in its first moments may be answered
# "wrong fsid" (it sends its commands before it has the monitor's map). So a
# connection counts only once a harmless command has gone through.
def connect(timeout):
    global cluster
    deadline = time.time() + timeout
    while True:
        cluster = rados.Rados(conffile=conf, conf={"client_mount_timeout": "5", "rados_mon_op_timeout": "15"})
        try:
            cluster.connect(timeout=5)
            ret, _, err = command(cluster, "mon dump")
            if ret == 0:
                return cluster
            error = err
            cluster.shutdown()
        except rados.Error as e:
            error = e
            cluster.shutdown()
        if time.time() > deadline:
            sys.exit(f"cannot talk to the monitor: {error}")
        time.sleep(0.2)

def mon(prefix, **kw):
    ret, out, err = command(cluster, prefix, **kw)
    if ret != 0:
        sys.exit(f"'{prefix}' failed ({ret}): {err}")
    return json.loads(out) if out.strip() else None

EOF
    cat
  )
  env LD_LIBRARY_PATH="$LIB_PATH" PYTHONPATH="$PY_PATH" "${PYTHON[@]}" -c "$code" "$CONF" "$@"
}

# --- state of a previous start ----------------------------------------------

# Alive and really ours (the pid was not reused by another program).
daemon_alive() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -qF "$CONF" "/proc/$pid/cmdline" 2>/dev/null
}

http_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/" 2>/dev/null || true
}

# An S3 call signed with the test user's keys: proves auth works end to end.
# (curl's SigV4 omits the payload hash header that S3 requires; it is the
# hash of the empty body here.)
signed_list_ok() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --aws-sigv4 "aws:amz:$RGW_REGION:s3" --user "$RGW_ACCESS_KEY:$RGW_SECRET_KEY" \
    -H "x-amz-content-sha256: $(printf '' | sha256sum | cut -d' ' -f1)" \
    "http://127.0.0.1:$RGW_PORT/" 2>/dev/null) == 200 ]]
}

print_env() {
  cat <<EOF
TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
TEST_S3_ACCESS_KEY_ID=$RGW_ACCESS_KEY
TEST_S3_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
TEST_S3_REGION=$RGW_REGION
EOF
}

# For daemons this script just launched: their pid is known to be theirs, but
# their command line may not show the binary yet (still between fork and exec).
running() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

already_up() {
  local d
  for d in "${DAEMONS[@]}"; do daemon_alive "$d" || return 1; done
  [[ -f $ENV_FILE && $(cat "$RUN/port" 2>/dev/null) == "$RGW_PORT" ]] || return 1
  cmp -s "$ENV_FILE" <(print_env) || return 1
  signed_list_ok
}

if already_up; then
  log "already running on port $RGW_PORT"
  cat "$ENV_FILE"
  exit 0
fi

# Leftovers of a crashed or half-finished start, or another port/key setting.
if [[ -d $RUN ]]; then
  log "clearing previous state"
  RGW_HOME=$RGW_HOME S3_GATEWAY_LOCKED=1 "$SCRIPT_DIR/s3-gateway-stop.sh" >&2
fi
rm -f "$ENV_FILE"

if port_in_use "$RGW_PORT"; then
  die "port $RGW_PORT on 127.0.0.1 is taken by another program (set RGW_PORT)"
fi

if [[ -n ${RGW_MON_PORT:-} ]]; then
  MON_PORT=$RGW_MON_PORT
  ! port_in_use "$MON_PORT" || die "port $MON_PORT on 127.0.0.1 is taken by another program (set RGW_MON_PORT)"
else
  MON_PORT=
  for p in $(seq 6789 6799); do
    port_in_use "$p" || { MON_PORT=$p; break; }
  done
  [[ -n $MON_PORT ]] || die "no free monitor port in 6789..6799 (set RGW_MON_PORT)"
fi

# --- bringing the cluster up ------------------------------------------------

# Start a daemon in the foreground of its own session, detached from ours:
# we know its pid for sure, and its stdout/stderr never hold our caller's pipe.
launch() {
  local name=$1 bin=$2
  shift 2
  # 9>&- : the daemon must not inherit (and so hold) our lock.
  setsid env LD_LIBRARY_PATH="$LIB_PATH" "$ROOT/usr/bin/$bin" "$@" -f -c "$CONF" \
    </dev/null >>"$RUN/log/$name.out" 2>&1 9>&- &
  echo $! >"$RUN/$name.pid"
}

fail_with_logs() {
  local name=$1
  shift
  log "ERROR: $*"
  show_logs "$RUN/log/$name.out" "$RUN/log/$name.log"
  return 1
}

bring_up() {
  local deadline=$((SECONDS + RGW_START_TIMEOUT))
  rm -rf "$RUN"
  mkdir -p "$RUN/log" "$RUN/mon" "$RUN/osd" "$RUN/rgw"
  echo "$RGW_PORT" >"$RUN/port"
  local fsid osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)

  # No authentication and only the v1 wire protocol: nothing but this machine
  # talks to the cluster, and it keeps the setup free of keyrings.
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_host = [v1:127.0.0.1:$MON_PORT]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = true
ms_bind_msgr2 = false
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
keyring = $RUN/keyring
run_dir = $RUN
admin_socket = $RUN/\$name.asok
pid_file = $RUN/\$name.pid
log_file = $RUN/log/\$name.log
mon_cluster_log_file = $RUN/log/cluster.log
# Plugins and object classes live in the unpacked tree.
plugin_dir = $CEPH_LIBDIR
erasure_code_dir = $CEPH_LIBDIR/erasure-code
osd_class_dir = $MULTIARCH_LIBDIR/rados-classes
# One OSD: one replica, few PGs, no autoscaler, no redundancy warnings.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
mon_allow_pool_delete = true
# Commit map changes at once rather than batching them for a second: setup
# makes ~20 changes one after the other.
paxos_propose_interval = 0.01
paxos_min_wait = 0.01

[mon]
mon_data = $RUN/mon
# The default (5% free disk) would stop the monitor on a nearly full disk.
mon_data_avail_crit = 1
mon_data_avail_warn = 2
# Keeps RocksDB's statistics dumps out of the monitor log.
debug_rocksdb = 1/5

[osd]
osd_data = $RUN/osd
osd_objectstore = memstore
memstore_device_bytes = $RGW_MEMSTORE_BYTES
# We place the OSD in the CRUSH map ourselves, before it boots; letting it
# do so on start races with pool creation.
osd_crush_update_on_start = false
# Nor does it set its device class: that is a monitor command sent early in
# its start, which a young monitor may refuse ("wrong fsid"), killing the OSD.
osd_class_update_on_start = false

[client.rgw]
# tcp_nodelay: without it small responses wait ~40 ms for delayed ACKs.
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw_data = $RUN/rgw
# Plenty for tests; the default is 512 threads.
rgw_thread_pool_size = 64
# Free deleted objects at once: the OSD keeps data in RAM, and the default 2 h delay
# lets deleted test objects fill it.
rgw_gc_obj_min_wait = 0
EOF

  # Monitor: a one-member monmap speaking v1 only, then mkfs.
  ceph_bin monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" \
    "$RUN/monmap" >"$RUN/log/monmaptool.out" 2>&1 ||
    fail_with_logs monmaptool "monmaptool failed" || return 1
  ceph_bin ceph-mon -c "$CONF" -i a --mkfs --monmap "$RUN/monmap" >"$RUN/log/mon.a.out" 2>&1 ||
    fail_with_logs mon.a "ceph-mon --mkfs failed" || return 1
  log "starting monitor on 127.0.0.1:$MON_PORT"
  launch mon.a ceph-mon -i a
  until port_in_use "$MON_PORT"; do
    running mon.a || { fail_with_logs mon.a "ceph-mon exited" || return 1; }
    ((SECONDS < deadline)) || { fail_with_logs mon.a "monitor not listening after ${RGW_START_TIMEOUT}s" || return 1; }
    sleep 0.2
  done

  # Register osd.0 and its CRUSH position, and create the pools. The PGs are
  # created once the OSD boots.
  rados_py "$osd_uuid" "${POOLS[@]}" >"$RUN/log/setup.out" 2>&1 <<'EOF' ||
cluster = connect(30)
osd_uuid, pools = args[0], args[1:]
mon("osd new", uuid=osd_uuid, id=0)
mon("osd crush add", id=0, weight=1.0, args=["host=localhost", "root=default"])
existing = {p["poolname"] for p in mon("osd lspools")}
for pool in pools:
    if pool not in existing:
        mon("osd pool create", pool=pool, pg_num=8, pgp_num=8)
    mon("osd pool application enable", pool=pool, app="rgw")
EOF
    fail_with_logs mon.a "cluster setup failed: $(tail -n1 "$RUN/log/setup.out")" || return 1

  # OSD: an in-memory object store, so nothing is written to disk while running.
  ceph_bin ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$RUN/log/osd.0.out" 2>&1 ||
    fail_with_logs osd.0 "ceph-osd --mkfs failed" || return 1
  log "starting OSD (memstore, $((RGW_MEMSTORE_BYTES / 1024 / 1024)) MiB)"
  launch osd.0 ceph-osd -i 0

  # Wait for osd.0 up and in. Relaunch once if it died on the way.
  local tries=1
  while :; do
    if rados_py >/dev/null 2>&1 <<'EOF'; then break; fi
cluster = connect(5)
osd = mon("osd dump")["osds"][0]
sys.exit(0 if osd["up"] == 1 and osd["in"] == 1 else 1)
EOF
    if ! running osd.0; then
      if ((tries >= 2)); then fail_with_logs osd.0 "ceph-osd exited" || return 1; fi
      log "ceph-osd exited during start; retrying"
      tries=$((tries + 1))
      launch osd.0 ceph-osd -i 0
    fi
    ((SECONDS < deadline)) || { fail_with_logs osd.0 "OSD not up after ${RGW_START_TIMEOUT}s" || return 1; }
    sleep 0.5
  done

  # Gateway: waits for its pools' PGs to go active before it serves requests.
  log "starting radosgw on 127.0.0.1:$RGW_PORT"
  launch client.rgw radosgw -n client.rgw
  tries=1
  while :; do
    case $(http_status "$RGW_PORT") in 200 | 403) break ;; esac
    if ! running client.rgw; then
      if ((tries >= 3)); then fail_with_logs client.rgw "radosgw exited" || return 1; fi
      log "radosgw exited during start; retrying"
      tries=$((tries + 1))
      launch client.rgw radosgw -n client.rgw
    fi
    ((SECONDS < deadline)) ||
      { fail_with_logs client.rgw "radosgw not answering after ${RGW_START_TIMEOUT}s" || return 1; }
    sleep 0.5
  done

  # Test user with fixed keys (kept if it exists already).
  local admin=(ceph_bin radosgw-admin -c "$CONF" -n client.admin)
  if ! "${admin[@]}" user info --uid="$RGW_USER" >/dev/null 2>&1; then
    "${admin[@]}" user create --uid="$RGW_USER" --display-name="$RGW_USER" \
      --access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" >"$RUN/log/user.out" 2>&1 ||
      fail_with_logs user "radosgw-admin user create failed" || return 1
  fi
  # The gateway may take a moment to see the new user.
  until signed_list_ok; do
    ((SECONDS < deadline)) ||
      { fail_with_logs client.rgw "signed S3 request still failing after ${RGW_START_TIMEOUT}s" || return 1; }
    sleep 0.5
  done
}

start=$SECONDS
attempt=1
rm -rf "$RGW_HOME/failed-logs"
while :; do
  # errexit stays active inside bring_up only outside an `if`/`||` context.
  set +e
  (
    set -e
    bring_up
  )
  rc=$?
  set -e
  ((rc == 0)) && break
  # Keep the logs of the failed attempt for a look afterwards.
  mkdir -p "$RGW_HOME/failed-logs"
  cp -r "$RUN/log" "$RGW_HOME/failed-logs/attempt-$attempt" 2>/dev/null || true
  RGW_HOME=$RGW_HOME S3_GATEWAY_LOCKED=1 "$SCRIPT_DIR/s3-gateway-stop.sh" >&2 || true
  ((attempt < 2)) || die "gateway did not come up (logs: $RGW_HOME/failed-logs)"
  attempt=$((attempt + 1))
  log "retrying from scratch"
done

print_env >"$ENV_FILE"
log "ready in $((SECONDS - start))s"
print_env
