#!/usr/bin/env bash
# Stop the S3 gateway started by scripts/s3-gateway-start.sh: radosgw, the OSD
# and the monitor, then remove their state. The downloaded and unpacked
# packages stay cached for the next start.
#
# Environment (optional):
#   RGW_HOME           same folder as given to the start script (default: <repo>/.rgw)
#   RGW_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default: 10)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
RGW_HOME=${RGW_HOME:-$REPO_ROOT/.rgw}
RGW_STOP_TIMEOUT=${RGW_STOP_TIMEOUT:-10}

[[ -d $RGW_HOME ]] || exit 0
RGW_HOME=$(cd "$RGW_HOME" && pwd)
RUN=$RGW_HOME/run
CONF=$RUN/ceph.conf

log() { echo "s3-gateway: $*" >&2; }

# The start script holds the lock already when it calls us to clean up.
if [[ -z ${S3_GATEWAY_LOCKED:-} ]]; then
  exec 9>"$RGW_HOME/lock"
  flock 9
fi

# A process is ours if our config file is on its command line: a pid from a
# pid file may have been reused by an unrelated program since.
is_ours() { grep -qF -- "$CONF" "/proc/$1/cmdline" 2>/dev/null; }

# The daemon's pid from its pid file or, if that is gone (run dir deleted by
# hand), from a scan for its binary running with our config file.
find_pid() {
  local name=$1 bin=$2 pid proc argv0
  pid=$(cat "$RUN/$name.pid" 2>/dev/null) && [[ -n $pid ]] && is_ours "$pid" && echo "$pid" && return 0
  for proc in /proc/[0-9]*; do
    argv0=
    read -r -d '' argv0 <"$proc/cmdline" 2>/dev/null || true
    pid=${proc#/proc/}
    [[ $argv0 == */"$bin" ]] && is_ours "$pid" && echo "$pid" && return 0
  done
  return 1
}

# Zombies count as gone: they only wait for their parent to reap them.
alive() {
  kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Gateway first, monitor last: the OSD tells the monitor it is going down and
# waits for an answer (seconds, if the monitor is gone already).
for daemon in client.rgw:radosgw osd.0:ceph-osd mon.a:ceph-mon; do
  name=${daemon%%:*}
  pid=$(find_pid "$name" "${daemon#*:}") || continue
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || continue
  deadline=$((SECONDS + RGW_STOP_TIMEOUT))
  while alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if alive "$pid"; then
    log "$name ignored SIGTERM for ${RGW_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
done

rm -rf "$RUN" "$RGW_HOME/env"
