import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { createAccountService } from './accounts/account-service.js';
import { createApiKeyService } from './accounts/api-key-service.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { registerApiKeyAuth } from './http/auth.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerMetrics } from './http/metrics.js';
import { createMetrics } from './metrics.js';
import { registerOpenApi } from './http/openapi/document.js';
import { registerRateLimit } from './http/rate-limit.js';
import { accountRoutes } from './http/routes/account.js';
import { adminRoutes } from './http/routes/admin.js';
import { healthRoutes } from './http/routes/health.js';
import { sessionRoutes } from './http/routes/sessions.js';
import { createSecretBox, type SecretBox } from './crypto/secret-box.js';
import { createCdnClient, type CdnClient } from './media/cdn-client.js';
import { parseAllowlist } from './media/cdn-allowlist.js';
import { createMediaService } from './media/media-service.js';
import { createPersistService } from './media/persist-service.js';
import { createSettingsService } from './accounts/settings-service.js';
import { settingsRoutes } from './http/routes/settings.js';
import { createS3ClientCache } from './storage/s3-clients.js';
import { createTransferLimiter } from './media/transfer-limiter.js';
import { mediaRoutes } from './http/routes/media.js';
import { simulatorCdnRoutes } from './http/routes/simulator-cdn.js';
import { simulatorRoutes } from './http/routes/simulator.js';
import { createSessionService } from './sessions/session-service.js';
import { createSimulator } from './simulator/simulator.js';
import { createIngest } from './whatsapp/ingest.js';
import { pairingRoutes } from './http/routes/pairing.js';
import { createSessionManager } from './whatsapp/session-manager.js';
import { createBaileysSocketFactory, type SocketFactory } from './whatsapp/socket-factory.js';
import { createBackground } from './jobs/background.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import type { SessionStatusListener } from './sessions/session-events.js';
import { createWebhookService } from './webhooks/webhook-service.js';
import type { Store } from './store/db.js';
import { VERSION } from './version.js';

/** Everything the app needs from outside; tests pass their own (real store, test adapters). */
export interface AppDeps {
  config: Config;
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** Seals secrets at rest; defaults to one keyed by config.secretKey. */
  secretBox?: SecretBox;
  /** The WhatsApp CDN client; defaults to one built from config. */
  cdn?: CdnClient;
  /** More listeners of session status changes, besides the webhook outbox's. */
  statusListeners?: SessionStatusListener[];
  /** Makes WhatsApp sockets; defaults to real Baileys sockets (tests pass a fake). */
  socketFactory?: SocketFactory;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the HTTP app (never listens, never reads the environment). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, store } = deps;
  const clock = deps.clock ?? systemClock;
  const app = Fastify<RawServerDefault>({
    loggerInstance: deps.logger,
    // Our own onResponse hook writes the one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // Accept a caller's X-Request-Id when it is sane, else mint one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // One line per request, with the account when known.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime), accountId: request.principal?.accountId },
      'request',
    );
  });

  const accounts = createAccountService(store.db, clock);
  const apiKeys = createApiKeyService(store.db, clock, { cacheTtlMs: config.keyCacheTtlMs });
  const sessions = createSessionService(store.db, clock);
  if (!deps.secretBox && !config.secretKey) throw new Error('SECRET_KEY (or a secretBox) is required.');
  const secretBox = deps.secretBox ?? createSecretBox(config.secretKey!, config.secretKeyPrevious);
  const m = config.media;
  const cdn =
    deps.cdn ??
    createCdnClient({
      baseUrl: m.cdnBaseUrl,
      allowlist: parseAllowlist(m.cdnAllowlist),
      connectTimeoutMs: m.cdnConnectTimeoutMs,
      headersTimeoutMs: m.cdnHeadersTimeoutMs,
      bodyTimeoutMs: m.cdnBodyTimeoutMs,
      maxRetries: m.cdnMaxRetries,
      // The CDN file is the plaintext plus at most one block of padding and the MAC.
      maxBytes: m.maxBytes + 26,
      logger: deps.logger,
    });
  // The outbox and its workers (webhook dispatcher, auto-persist jobs); settings come later.
  const metrics = createMetrics();
  const background = createBackground({ store, clock, config, secretBox, settings: () => settings, logger: deps.logger, metrics });
  const ingest = background.wrapIngest(createIngest({ db: store.db, clock, secretBox, listeners: [background.onIngest] }));
  // Every status change goes through these, inside its transaction (the session manager takes them).
  const statusListeners: SessionStatusListener[] = [background.onSessionStatus, ...(deps.statusListeners ?? [])];
  const whatsapp = createSessionManager({
    db: store.db,
    clock,
    logger: deps.logger,
    secretBox,
    sessions,
    socketFactory: deps.socketFactory ?? createBaileysSocketFactory({ waWebSocketUrl: config.whatsapp.webSocketUrl }),
    ingest,
    statusListeners,
    settings: { ...config.whatsapp, cdnBaseUrl: m.cdnBaseUrl },
  });
  // Expired media are re-uploaded by the sender's phone through its session (download and persist).
  const recoverExpired = whatsapp.recoverExpired;
  const s3Clients = createS3ClientCache();
  const settings = createSettingsService({ db: store.db, clock, secretBox, serverDefault: config.s3Default, s3Clients });
  const limiter = createTransferLimiter(m.maxConcurrentTransfers);
  metrics.watch({ db: store.db, transfers: limiter, maxTransfers: m.maxConcurrentTransfers, logger: deps.logger });
  const media = createMediaService({ db: store.db, sessions, secretBox, cdn, limiter, settings, maxBytes: m.maxBytes, logger: deps.logger, recoverExpired });
  const persist = createPersistService({
    db: store.db,
    clock,
    media,
    settings,
    cdn,
    limiter,
    maxBytes: m.maxBytes,
    partSize: config.s3Upload.partSize,
    queueSize: config.s3Upload.queueSize,
    logger: deps.logger,
    listeners: background.persistListeners,
    recoverExpired,
  });
  background.usePersist(persist);
  const webhooks = createWebhookService({ db: store.db, clock, secretBox, rules: config.webhooks, outbox: background.outbox, wake: () => background.dispatcher.wake() });
  const simulator = config.simulatorEnabled
    ? createSimulator({ dir: join(config.dataDir, 'simulator'), maxBytes: m.maxBytes, clock, sessions, ingest, origin: () => selfOrigin(app, config.publicUrl) })
    : null;
  if (simulator) {
    // The simulated CDN is this server: allow its origin only while the simulator is on.
    app.addHook('onListen', async () => cdn.allowOrigin(selfOrigin(app, config.publicUrl)));
  }

  await registerOpenApi(app, { version: VERSION, publicUrl: config.publicUrl });
  registerMetrics(app, metrics.registry);
  await app.register(healthRoutes, { db: store.db });
  await app.register(adminRoutes, { prefix: '/admin', accounts, apiKeys, masterKey: config.masterKey });
  await app.register(
    async (api) => {
      registerApiKeyAuth(api, apiKeys);
      await registerRateLimit(api, config.rateLimit);
      await api.register(accountRoutes, { accounts, apiKeys });
      await api.register(sessionRoutes, { sessions, manager: whatsapp });
      await api.register(pairingRoutes, { manager: whatsapp });
      await api.register(settingsRoutes, { settings });
      await api.register(mediaRoutes, { media, persist });
      await api.register(webhookRoutes, { webhooks });
      if (simulator) await api.register(simulatorRoutes, { simulator });
    },
    { prefix: '/api' },
  );
  if (simulator) await app.register(simulatorCdnRoutes, { simulator });

  // Workers start with the app (inject()-based tests included) and stop before the store closes.
  app.addHook('onReady', async () => background.start());
  // In-flight requests have finished when onClose runs; abort whatever upload is still going.
  app.addHook('onClose', async () => {
    await background.stop();
    persist.abortAll(new Error('The server is shutting down.'));
    s3Clients.close();
    if (!deps.cdn) await cdn.close();
    await store.close();
  });
  // Sessions resume once the app is ready; on close (onClose hooks run last-added first) their
  // sockets close without logging out, before the store does.
  app.addHook('onReady', async () => whatsapp.begin());
  app.addHook('onClose', async () => whatsapp.shutdown());
  return app;
}

/** Where this server can reach itself: PUBLIC_URL, else the loopback address it listens on. */
function selfOrigin(app: FastifyInstance, publicUrl: string | undefined): string {
  if (publicUrl) return new URL(publicUrl).origin;
  const addr = app.server.address() as AddressInfo | null;
  if (!addr) throw new Error('The server is not listening yet.');
  const host = addr.family === 'IPv6' ? (addr.address === '::' ? '[::1]' : `[${addr.address}]`) : addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address;
  return `http://${host}:${addr.port}`;
}
