import cluster from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAccountService } from './accounts/account-service.js';
import { createApiKeyService } from './accounts/api-key-service.js';
import { buildApp } from './app.js';
import { bootstrapFirstKey } from './bootstrap.js';
import { systemClock } from './clock.js';
import { startCluster } from './cluster/primary.js';
import { joinCluster, type WorkerLink } from './cluster/worker-link.js';
import { ConfigError, loadConfig, readEnvironment, type Config } from './config.js';
import { createSecretBox } from './crypto/secret-box.js';
import { loadOrCreateSecretKey } from './crypto/secret-key-file.js';
import { createLogger, routeProcessWarnings } from './logger.js';
import { enableScavengePacing } from './media/scavenge-pacer.js';
import { openStore, type Store } from './store/db.js';
import { migrateToLatest } from './store/migrate.js';
import { VERSION } from './version.js';

// Media transfers free their chunk buffers as they go when `npm start`'s V8 flags are given
// (see scavenge-pacer.ts and the `start` script in package.json).
enableScavengePacing();

/**
 * Three ways to run: one process (WORKERS=1, the default), or with WORKERS=N a primary that
 * prepares the database once and forks N workers sharing the port (cluster/primary.ts), each
 * of which serves as one process does, minus the preparation.
 */
async function main() {
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  routeProcessWarnings(logger);
  if (cluster.isWorker)
    // The primary created the key file, if one was needed: this only reads it.
    return serve(config, logger, openStore(config.database), secretKeyOf(config, logger), joinCluster());

  const store = openStore(config.database);
  // Once per start, before any worker exists: migrations, and the generated secret key's file.
  const applied = await migrateToLatest(store.db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const secretKey = secretKeyOf(config, logger);
  if (config.workers === 1) return serve(config, logger, store, secretKey, null);

  const { address, pids } = await startCluster({
    workers: config.workers,
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  });
  await announce(config, logger, store, address, { workers: pids });
  // The primary keeps no database connection: it only forks, restarts and relays.
  await store.close();
}

/** Builds the app, listens, and stops gracefully on SIGTERM/SIGINT (or when the primary says so). */
async function serve(config: Config, logger: Logger, store: Store, secretKey: string, link: WorkerLink | null) {
  const secretBox = createSecretBox(secretKey, config.secretKeyPrevious);
  const app = await buildApp({
    config,
    store,
    logger,
    secretBox,
    ...(link ? { metricsSource: link.metricsOf } : {}),
  });
  const address = await listen(app, config);
  if (link) {
    // One line per worker, with its pid (as every log line has): which worker took a request
    // shows in the request lines.
    logger.info({ address }, 'titan-media worker listening');
    link.ready(address);
  } else await announce(config, logger, store, address, {});

  // SIGTERM/SIGINT: refuse new transfers and abort persists, then let in-flight requests finish
  // within the timeout, then close the db (the order is in http/shutdown-order.ts).
  let closing = false;
  const { close } = closeWithGrace({ delay: config.shutdownTimeoutMs, logger }, async ({ signal, err, manual }) => {
    closing = true;
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info(manual ? { by: 'primary' } : { signal }, 'shutting down');
    await app.close();
  });
  // A terminal's Ctrl-C reaches the workers and the primary alike: the primary's forward then finds it closing.
  link?.onShutdown(() => {
    if (!closing) void close();
  });
}

async function listen(app: FastifyInstance, config: Config): Promise<string> {
  // Fastify logs one "Server listening" line per interface; the start line replaces them.
  const level = app.log.level;
  app.log.level = 'warn';
  try {
    // The address Fastify reports (the real port, also when PORT=0).
    return await app.listen({ port: config.port, host: config.host });
  } finally {
    app.log.level = level;
  }
}

/** SECRET_KEY, or the key generated into DATA_DIR on first start outside production. */
function secretKeyOf(config: Config, logger: Logger): string {
  if (config.secretKey) return config.secretKey;
  const generated = loadOrCreateSecretKey(config.dataDir);
  if (generated.created)
    logger.warn(
      { file: `${config.dataDir}/secret.key` },
      'SECRET_KEY is not set: generated one for this install; set SECRET_KEY in production',
    );
  return generated.key;
}

/** The first-start key (if any) and the one start line of the server. */
async function announce(config: Config, logger: Logger, store: Store, address: string, extra: object) {
  const banner = await bootstrapFirstKey(
    createAccountService(store.db, systemClock),
    createApiKeyService(store.db, systemClock, { cacheTtlMs: 0 }),
    { masterKey: config.masterKey, production: config.nodeEnv === 'production', baseUrl: config.publicUrl ?? address },
  );
  // To stderr: stdout carries only JSON log lines (the key must not enter the log either).
  if (banner) process.stderr.write(`${banner}\n`);
  logger.info(
    { address, docs: `${config.publicUrl ?? address}/docs`, version: VERSION, node: process.versions.node, ...extra },
    'titan-media listening',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
