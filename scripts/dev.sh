#!/usr/bin/env bash
# `npm run dev`: the server on its embedded defaults (SQLite, sandbox simulator) with a
# local S3 default bucket when none is configured: Ceph RADOS Gateway on Debian, started by
# scripts/s3-gateway-start.sh. Without one, everything but persist still works. It listens on
# 127.0.0.1 and accepts local webhook receivers (see the README walk-through).
set -euo pipefail
cd "$(dirname "$0")/.."

export SIMULATOR_ENABLED=${SIMULATOR_ENABLED:-true}
# A default of the dev command, unless the environment or .env sets the variable (an exported
# value would win over .env, which the server reads without overriding).
dev_default() {
  [[ -n ${!1:-} ]] && return 0
  [[ -f .env ]] && grep -q "^$1=" .env && return 0
  export "$1=$2"
}
# Reachable from this machine only, unless told otherwise.
dev_default HOST 127.0.0.1
# Development allowance: webhooks may go to http and loopback/private receivers (such as
# scripts/webhook-receiver.ts) and an account may use the local gateway as its own bucket,
# which production refuses.
dev_default WEBHOOK_ALLOW_HTTP true
dev_default WEBHOOK_ALLOW_PRIVATE_NETWORKS true
dev_default S3_ALLOW_PRIVATE_ENDPOINTS true
if [[ -f .env ]] && grep -q '^S3_BUCKET=.' .env; then :; elif [[ -z ${S3_BUCKET:-} && ${DEV_S3:-1} == 1 ]]; then
  if [[ -x /usr/bin/apt-get ]] && out=$(bash scripts/s3-gateway-start.sh); then
    eval "$(grep '^TEST_S3_' <<<"$out" | sed 's/^/export /')"
    export S3_ENDPOINT=$TEST_S3_ENDPOINT S3_REGION=$TEST_S3_REGION S3_BUCKET=titan-media \
      S3_ACCESS_KEY_ID=$TEST_S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY=$TEST_S3_SECRET_ACCESS_KEY S3_FORCE_PATH_STYLE=true
    dev_gateway=1
    npx tsx scripts/ensure-bucket.ts "$S3_ENDPOINT" "$S3_REGION" "$S3_BUCKET" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
  else
    echo "dev: no local S3 (set S3_* or DEV_S3=0 to skip); persist answers S3_NOT_CONFIGURED" >&2
  fi
fi
# Once per start: the bucket persist uses for accounts without their own settings.
if [[ -n ${S3_BUCKET:-} ]]; then
  cat >&2 <<EOF
dev: the default bucket (accounts without their own S3 settings persist here):
  endpoint          ${S3_ENDPOINT:-AWS}
  region            ${S3_REGION:-us-east-1}
  bucket            $S3_BUCKET
  accessKeyId       ${S3_ACCESS_KEY_ID:-}
  secretAccessKey   ${S3_SECRET_ACCESS_KEY:-}
EOF
  if [[ -n ${dev_gateway:-} ]]; then echo "  (a local Ceph RADOS Gateway; stop it with scripts/s3-gateway-stop.sh)" >&2; fi
fi
exec npx tsx watch src/main.ts
