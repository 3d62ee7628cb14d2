#!/usr/bin/env bash
# `npm run dev`: the server on its embedded defaults (SQLite, sandbox simulator) with a
# local S3 default bucket when none is configured: Ceph RADOS Gateway on Debian, started by
# scripts/s3-gateway-start.sh. Without one, everything but persist still works.
set -euo pipefail
cd "$(dirname "$0")/.."

export SIMULATOR_ENABLED=${SIMULATOR_ENABLED:-true}
if [[ -f .env ]] && grep -q '^S3_BUCKET=.' .env; then :; elif [[ -z ${S3_BUCKET:-} && ${DEV_S3:-1} == 1 ]]; then
  if [[ -x /usr/bin/apt-get ]] && out=$(bash scripts/s3-gateway-start.sh); then
    eval "$(grep '^TEST_S3_' <<<"$out" | sed 's/^/export /')"
    export S3_ENDPOINT=$TEST_S3_ENDPOINT S3_REGION=$TEST_S3_REGION S3_BUCKET=titan-media \
      S3_ACCESS_KEY_ID=$TEST_S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY=$TEST_S3_SECRET_ACCESS_KEY S3_FORCE_PATH_STYLE=true
    npx tsx scripts/ensure-bucket.ts "$S3_ENDPOINT" "$S3_REGION" "$S3_BUCKET" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
    echo "dev: local S3 at $S3_ENDPOINT, default bucket $S3_BUCKET (stop it with scripts/s3-gateway-stop.sh)" >&2
  else
    echo "dev: no local S3 (set S3_* or DEV_S3=0 to skip); persist answers S3_NOT_CONFIGURED" >&2
  fi
fi
exec npx tsx watch src/main.ts
