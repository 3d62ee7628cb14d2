# syntax=docker/dockerfile:1
#
# titan-media server image.
#   docker build -t titan-media .
#   docker run -p 8080:8080 -e MASTER_KEY=... -e SECRET_KEY=... -v titan-data:/app/data titan-media
# With the default DATABASE_URL (sqlite:./data/titan.db) the database lives in the
# /app/data volume; set DATABASE_URL=postgres://... to use PostgreSQL instead.

# An exact Node.js 24 LTS release, the one CI also tests on (scripts/node24.sh).
# Not a newer 24.x: from 24.19.0 on, node_object_wrap.h makes better-sqlite3 <= 12
# compiled against it abort the process when a GC frees a prepared statement
# (nodejs/node#65446). Move both pins together once that is fixed.
ARG NODE_VERSION=24.18.1

# ---- build: compile the native addon and the TypeScript, then drop dev deps ----
FROM node:${NODE_VERSION}-bookworm-slim AS build

# node-gyp needs these to compile better-sqlite3.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Compile better-sqlite3 from source against this image's own Node headers
# (/usr/local/include/node) rather than downloading a prebuilt binary or a headers
# tarball: the build then needs only the npm registry and Debian's mirrors, and the
# addon gets the headers of the pinned release above.
ENV npm_config_build_from_source=true \
  npm_config_nodedir=/usr/local

# Dependencies first, so this layer is reused while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Prune keeps the already compiled addon; only dev packages go. At run time the
# addon needs only build/Release/better_sqlite3.node, not its sources and objects
# (~25 MB). Loading it here fails the build early if anything went wrong.
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && b=node_modules/better-sqlite3 \
  && rm -rf "$b/deps" "$b/src" "$b/build/deps" "$b/build/Release/obj" "$b/build/Release/obj.target" \
    "$b/build/Release/.deps" "$b/build/Release/sqlite3.a" "$b/build/Release/test_extension.node" \
  && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"

# ---- runtime: same base (same glibc and Node ABI as the addon was built for) ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app

# Code stays root-owned (read-only for the server); only /app/data is writable.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY docs ./docs

# Created and chowned before VOLUME, so a fresh named volume starts owned by node.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

USER node
EXPOSE 8080

# Slim images have no curl; node's fetch is enough. Follows PORT if it is overridden.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# The server drains in-flight requests on SIGTERM (SHUTDOWN_TIMEOUT_MS, 10 s by default).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
