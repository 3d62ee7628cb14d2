#!/usr/bin/env bash
# Static checks of the Docker files; no Docker engine needed (CI has none).
#   docker-compose.yml  dclint: YAML, compose-spec schema (always on) and lint rules
#                       (.dclintrc); then references between services and volumes,
#                       and deploy/Caddyfile against the replicas profile; then
#                       `docker compose config -q` where the compose plugin exists and
#                       `docker-compose config -q` (1.29) where that is installed (in CI
#                       it must be). Both run with and without --profile replicas.
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
  for (const v of svc.volumes ?? []) {
    const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'bind' ? v.source : undefined;
    if (source?.startsWith('./') && !fs.existsSync(source)) problems.push(`${name}: bind-mounts "${source}", which does not exist`);
  }
}
for (const p of problems) console.log(`  ERROR: ${file}: ${p}`);
console.log(`  ${Object.keys(services).length} services, ${Object.keys(volumes).length} volumes, ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
JS
}
check "compose references" compose_refs

step "the replicas profile's proxy (deploy/Caddyfile) against $COMPOSE_FILE"
# Caddy is not installed here; check what ties its config to the stack: every upstream
# is a service of the profile on the port the server listens on, and the site listens
# on the container port that the proxy service publishes.
caddy_refs() {
  node - "$COMPOSE_FILE" deploy/Caddyfile <<'JS'
const { createRequire } = require('node:module');
const fs = require('node:fs');
const YAML = createRequire(require.resolve('dclint'))('yaml');
const [file, caddyfile] = process.argv.slice(2);
const services = (YAML.parse(fs.readFileSync(file, 'utf8'), { merge: true }) ?? {}).services ?? {};
const text = fs.readFileSync(caddyfile, 'utf8').replace(/#.*$/gm, '');
const problems = [];
const proxy = services.proxy;
if (!proxy) problems.push(`${file} has no "proxy" service`);
else if (!(proxy.volumes ?? []).some((v) => String(v).startsWith(`./${caddyfile}:`))) problems.push(`the proxy service does not mount ./${caddyfile}`);
const inProfile = (s) => !s.profiles || s.profiles.includes('replicas');
const site = /^:(\d+)\s*\{/m.exec(text)?.[1];
const published = (proxy?.ports ?? []).map((p) => String(p).split(':').at(-1));
if (!site) problems.push(`${caddyfile}: no site block ":<port> {"`);
else if (!published.includes(site)) problems.push(`${caddyfile}: listens on :${site}, but the proxy publishes ${published.join(', ') || 'nothing'}`);
const upstreams = [...text.matchAll(/^\s*reverse_proxy\s+([^{\n]+)/gm)].flatMap((m) => m[1].trim().split(/\s+/));
if (upstreams.length < 2) problems.push(`${caddyfile}: expected at least two upstreams, found ${upstreams.length}`);
for (const u of upstreams) {
  const [host, port] = u.split(':');
  const svc = services[host];
  if (!svc) { problems.push(`${caddyfile}: upstream ${u} is not a service of ${file}`); continue; }
  if (!inProfile(svc)) problems.push(`${caddyfile}: upstream ${host} is not started with --profile replicas`);
  const listens = String(svc.environment?.PORT ?? 8080);
  if (port !== listens) problems.push(`${caddyfile}: upstream ${u}, but ${host} listens on ${listens}`);
  if (!proxy?.depends_on?.[host]) problems.push(`the proxy service does not wait for ${host}`);
}
for (const p of problems) console.log(`  ERROR: ${p}`);
console.log(`  upstreams ${upstreams.join(', ')}; site :${site}; ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
JS
}
check "proxy config" caddy_refs

step "docker compose config -q (Compose v2's own parser, compose-go; needs no engine)"
if docker compose version >/dev/null 2>&1; then
  check "docker compose config" docker compose -f "$COMPOSE_FILE" config -q
  check "docker compose config (replicas)" docker compose -f "$COMPOSE_FILE" --profile replicas config -q
else
  skip "the docker compose plugin is not installed here (dclint above checked the same Compose Specification schema)"
fi

step "docker-compose config -q (docker-compose 1.29, Debian 12's package: apt-get install docker-compose)"
# CI always checks 1.29: install it there (as root, from Debian's packages) when it is missing.
if [[ ${CI:-} == true ]] && ! command -v docker-compose >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && ((EUID == 0)); then
  echo "installing docker-compose (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; } >/dev/null ||
    echo "apt-get install docker-compose failed"
fi
if command -v docker-compose >/dev/null 2>&1; then
  check "docker-compose config" docker-compose -f "$COMPOSE_FILE" config -q
  check "docker-compose config (replicas)" docker-compose -f "$COMPOSE_FILE" --profile replicas config -q
elif [[ ${CI:-} == true ]]; then
  echo "-- FAILED: docker-compose is not installed (CI must check 1.29: apt-get install -y docker-compose)"
  failed+=("docker-compose config")
else
  skip "docker-compose is not installed (apt-get install docker-compose)"
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
