#!/usr/bin/env bash
# Static checks of the Docker files; no Docker engine needed (CI has none).
#   docker-compose.yml  dclint: YAML, compose-spec schema (always on) and lint rules
#                       (.dclintrc); then references between services and volumes;
#                       then `docker compose config -q` where the compose plugin exists.
#   Dockerfile          scripts/check-dockerfile.js (stages, context, user, health
#                       check, ...); also dockerfile-utils and hadolint when present.
# Every check runs; the script exits 1 if any of them found an error.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

COMPOSE_FILE=docker-compose.yml
DOCKERFILE=Dockerfile
failed=()

step() { printf '\n== %s\n' "$*"; }
# Runs a check, records its name if it fails, and goes on with the next one.
check() {
  local name=$1
  shift
  if "$@"; then
    echo "-- ok: $name"
  else
    echo "-- FAILED: $name"
    failed+=("$name")
  fi
}
skip() { echo "-- skipped: $*"; }

[[ -x node_modules/.bin/dclint ]] || {
  echo "validate-docker: node_modules/.bin/dclint is missing; run npm ci first" >&2
  exit 1
}

# ---- docker-compose.yml ---------------------------------------------------------

step "dclint $COMPOSE_FILE (YAML + compose-spec schema + .dclintrc rules; errors fail, warnings are shown)"
color=()
[[ -t 1 ]] || color=(--no-color)
check "dclint" node_modules/.bin/dclint "$COMPOSE_FILE" -c .dclintrc "${color[@]}"

step "references in $COMPOSE_FILE (depends_on targets, named volumes, one-shot jobs)"
# The schema does not check that names point at something; `docker compose config`
# would, but needs the compose plugin. yaml is dclint's own parser.
compose_refs() {
  node - "$COMPOSE_FILE" <<'JS'
const { createRequire } = require('node:module');
const fs = require('node:fs');
const YAML = createRequire(require.resolve('dclint'))('yaml');
const file = process.argv[2];
const doc = YAML.parse(fs.readFileSync(file, 'utf8'), { merge: true }) ?? {};
const services = doc.services ?? {};
const volumes = doc.volumes ?? {};
const problems = [];
for (const [name, svc] of Object.entries(services)) {
  const deps = Array.isArray(svc.depends_on)
    ? Object.fromEntries(svc.depends_on.map((d) => [d, { condition: 'service_started' }]))
    : (svc.depends_on ?? {});
  for (const [dep, spec] of Object.entries(deps)) {
    const target = services[dep];
    if (!target) { problems.push(`${name}: depends_on "${dep}", which is not a service`); continue; }
    if (spec.condition === 'service_healthy' && !target.healthcheck && !target.build) {
      problems.push(`${name}: waits for "${dep}" to be healthy, but "${dep}" has no healthcheck`);
    }
    if (spec.condition === 'service_completed_successfully' && target.restart && target.restart !== 'no') {
      problems.push(`${name}: waits for "${dep}" to complete, but "${dep}" restarts (${target.restart})`);
    }
  }
  for (const v of svc.volumes ?? []) {
    const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'volume' ? v.source : undefined;
    if (source && !/^[./~$]/.test(source) && !(source in volumes)) {
      problems.push(`${name}: uses volume "${source}", which is not declared under top-level volumes`);
    }
  }
  if (!svc.image && !svc.build) problems.push(`${name}: has neither image nor build`);
}
for (const p of problems) console.log(`  ERROR: ${file}: ${p}`);
console.log(`  ${Object.keys(services).length} services, ${Object.keys(volumes).length} volumes, ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
JS
}
check "compose references" compose_refs

step "docker compose config -q (the compose CLI's own parser; needs no engine)"
if docker compose version >/dev/null 2>&1; then
  check "docker compose config" docker compose -f "$COMPOSE_FILE" config -q
else
  skip "the docker compose plugin is not installed here"
fi

# ---- Dockerfile -----------------------------------------------------------------

step "scripts/check-dockerfile.js $DOCKERFILE"
check "check-dockerfile" node scripts/check-dockerfile.js "$DOCKERFILE"

step "dockerfile-utils lint $DOCKERFILE (per-instruction syntax)"
if [[ -x node_modules/.bin/dockerfile-utils ]]; then
  check "dockerfile-utils" node_modules/.bin/dockerfile-utils lint "$DOCKERFILE"
else
  skip "dockerfile-utils is not installed"
fi

step "hadolint $DOCKERFILE"
if command -v hadolint >/dev/null 2>&1; then
  check "hadolint" hadolint "$DOCKERFILE"
else
  skip "hadolint is not on PATH (not packaged for Debian 12)"
fi

echo
if ((${#failed[@]})); then
  echo "validate-docker: FAILED: ${failed[*]}"
  exit 1
fi
echo "validate-docker: all checks passed"
