import closeWithGrace from 'close-with-grace';
import { createAccountService } from './accounts/account-service.js';
import { createApiKeyService } from './accounts/api-key-service.js';
import { buildApp } from './app.js';
import { bootstrapFirstKey } from './bootstrap.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, readEnvironment } from './config.js';
import { createSecretBox } from './crypto/secret-box.js';
import { loadOrCreateSecretKey } from './crypto/secret-key-file.js';
import { createLogger, routeProcessWarnings } from './logger.js';
import { enableScavengePacing } from './media/scavenge-pacer.js';
import { openStore } from './store/db.js';
import { migrateToLatest } from './store/migrate.js';
import { VERSION } from './version.js';

// Media transfers free their chunk buffers as they go when `npm start`'s V8 flags are given
// (see scavenge-pacer.ts and the `start` script in package.json).
enableScavengePacing();

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
  const store = openStore(config.database);
  const applied = await migrateToLatest(store.db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  let secretKey = config.secretKey;
  if (!secretKey) {
    const generated = loadOrCreateSecretKey(config.dataDir);
    secretKey = generated.key;
    if (generated.created)
      logger.warn(
        { file: `${config.dataDir}/secret.key` },
        'SECRET_KEY is not set: generated one for this install; set SECRET_KEY in production',
      );
  }
  const secretBox = createSecretBox(secretKey, config.secretKeyPrevious);

  const app = await buildApp({ config, store, logger, secretBox });
  // Fastify logs one "Server listening" line per interface; the start line below replaces them.
  const level = app.log.level;
  app.log.level = 'warn';
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } finally {
    app.log.level = level;
  }

  // The address Fastify reports (the real port, also when PORT=0).
  const localUrl = address;
  const banner = await bootstrapFirstKey(
    createAccountService(store.db, systemClock),
    createApiKeyService(store.db, systemClock, { cacheTtlMs: 0 }),
    { masterKey: config.masterKey, production: config.nodeEnv === 'production', baseUrl: config.publicUrl ?? localUrl },
  );
  // To stderr: stdout carries only JSON log lines (the key must not enter the log either).
  if (banner) process.stderr.write(`${banner}\n`);
  logger.info(
    { address, docs: `${config.publicUrl ?? localUrl}/docs`, version: VERSION, node: process.versions.node },
    'titan-media listening',
  );

  // SIGTERM/SIGINT: refuse new transfers and abort persists, then let in-flight requests finish
  // within the timeout, then close the db (the order is in http/shutdown-order.ts).
  closeWithGrace({ delay: config.shutdownTimeoutMs, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await app.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
