# syntax=docker/dockerfile:1
#
# titan-media server image.
#   docker build -t titan-media .
#   docker run -d --name titan -p 8080:8080 -e MASTER_KEY=... -e SECRET_KEY=... -v titan-data:/app/data titan-media
#   docker exec titan titan-media keys create --scopes '*'     # the first API key
# With the default DATABASE_URL (sqlite:./data/titan.db) the database lives in the
# /app/data volume; set DATABASE_URL=postgres://... to use PostgreSQL instead.

# An exact Node.js 24 LTS release (its newest patch), the one CI tests on first
# (scripts/node.sh 24 fetches the same release). Move both together.
ARG NODE_VERSION=24.22.3

# ---- build: install (native addon included), compile the TypeScript, drop dev deps ----
FROM node:${NODE_VERSION}-bookworm-slim AS build

# npm runs node-gyp for better-sqlite3 at install (its binding.gyp). It compiles only when
# the package's own prebuilt Node-API binary does not fit this platform, but gyp always
# needs python3 and make, and a compile also g++.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Against this image's own Node headers (/usr/local/include/node) rather than a headers
# tarball: the build needs only the npm registry and Debian's mirrors.
ENV npm_config_nodedir=/usr/local

# Dependencies first, so this layer is reused while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Prune drops the dev packages. Of better-sqlite3 the run time needs only its binary
# (build/Release/better_sqlite3.node when one was compiled, else the prebuilt one of
# this platform), not the SQLite sources, objects or other platforms' builds (~40 MB).
# Loading it here fails the build early if anything went wrong.
RUN npm run build \
  && chmod 755 dist/cli.js \
  && npm prune --omit=dev --no-audit --no-fund \
  && b=node_modules/better-sqlite3 \
  && keep="linux-$(node -p process.arch).node" \
  && rm -rf "$b/deps" "$b/src" "$b/build/deps" "$b/build/Release/obj" "$b/build/Release/obj.target" \
    "$b/build/Release/.deps" "$b/build/Release/sqlite3.a" "$b/build/Release/test_extension.node" \
  && find "$b/prebuilds" -type f ! -name "$keep" -delete \
  && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"

# ---- runtime: same base (same glibc and Node as the addon was installed for) ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app

# Code stays root-owned (read-only for the server); only /app/data is writable.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY docs ./docs

# Created and chowned before VOLUME, so a fresh named volume starts owned by node.
# The admin command line is on PATH too: `docker compose exec app titan-media keys create ...`.
RUN mkdir -p /app/data && chown node:node /app/data \
  && ln -s /app/dist/cli.js /usr/local/bin/titan-media
VOLUME ["/app/data"]

USER node
EXPOSE 8080

# Slim images have no curl; node's fetch is enough. Follows PORT if it is overridden.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# The server drains in-flight requests on SIGTERM (SHUTDOWN_TIMEOUT_MS, 10 s by default).
STOPSIGNAL SIGTERM
# node itself as PID 1 (not npm, which would sit in between), with the V8 flags of
# `npm start` (docs/operations.md#memory); test/docker.test.ts keeps the two lists the same.
CMD ["node", "--expose-gc", "--no-allocation-site-pretenuring", "--heap-growing-percent=20", "--max-semi-space-size=2", "--no-wasm-tier-up", "--no-wasm-dynamic-tiering", "dist/main.js"]
