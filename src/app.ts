import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type RawServerDefault } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAccountService } from './accounts/account-service.js';
import { createApiKeyService } from './accounts/api-key-service.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { registerApiKeyAuth } from './http/auth.js';
import { createAuthLimiter } from './http/auth-limiter.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerShutdownOrder } from './http/shutdown-order.js';
import { registerJsonBody } from './http/json-body.js';
import { clientErrorHandler, frameworkErrors } from './http/protocol-errors.js';
import { httpSeries, registerMetrics, type MetricsSource } from './http/metrics.js';
import { registerRequestLog } from './http/request-log.js';
import { createMetrics } from './metrics.js';
import { registerOpenApi } from './http/openapi/document.js';
import { registerRateLimit } from './http/rate-limit.js';
import { accountRoutes } from './http/routes/account.js';
import { adminRoutes } from './http/routes/admin.js';
import { healthRoutes } from './http/routes/health.js';
import { sessionRoutes } from './http/routes/sessions.js';
import { createSecretBox, type SecretBox } from './crypto/secret-box.js';
import { createCdnClient, type CdnClient } from './media/cdn-client.js';
import { READ_SIZE } from './media/cdn-http.js';
import { parseAllowlist } from './media/cdn-allowlist.js';
import { createMediaCatalog } from './media/media-catalog.js';
import { createMediaDeletion } from './media/media-deletion.js';
import { createMediaLookup } from './media/media-lookup.js';
import { createMediaService } from './media/media-service.js';
import { createMediaSource } from './media/media-source.js';
import { createPersistService } from './media/persist-service.js';
import { createMediaRepair } from './media/media-repair.js';
import { createUploadClaims } from './media/upload-claims.js';
import { createSessionTransfers } from './media/session-transfers.js';
import { createUploadSweeper } from './jobs/upload-sweeper.js';
import { processOwner } from './process-owner.js';
import { createSettingsService } from './accounts/settings-service.js';
import { settingsRoutes } from './http/routes/settings.js';
import { createBucketProbe, createBuckets } from './storage/buckets.js';
import { s3ClientFactory } from './storage/s3-clients.js';
import type { S3ClientFactory } from './storage/s3-clients.js';
import { createTransferAccounts } from './media/transfer-account.js';
import { CDN_LIFETIME_MS } from './media/media-object.js';
import { createTransferLimiter } from './media/transfer-limiter.js';
import { mediaRoutes } from './http/routes/media.js';
import { SIMULATOR_CDN_PREFIX, simulatorCdnRoutes } from './http/routes/simulator-cdn.js';
import { simulatorDisabledRoutes, simulatorRoutes } from './http/routes/simulator.js';
import { createSessionService } from './sessions/session-service.js';
import { createSimulator } from './simulator/simulator.js';
import { createSimulatorJanitor } from './simulator/simulator-janitor.js';
import { createIngest } from './whatsapp/ingest.js';
import { pairingRoutes } from './http/routes/pairing.js';
import { createSessionManager } from './whatsapp/session-manager.js';
import { createBaileysSocketFactory, type SocketFactory } from './whatsapp/socket-factory.js';
import { createBackground } from './jobs/background.js';
import { createEventPipeline } from './jobs/event-pipeline.js';
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
  /** Makes the S3 client of a bucket's settings; defaults to the AWS SDK's, tuned for S3-compatible stores. */
  s3ClientFactory?: S3ClientFactory;
  /** Makes WhatsApp sockets; defaults to real Baileys sockets (tests pass a fake). */
  socketFactory?: SocketFactory;
  /** What `/metrics` answers from, given this process's registry; a cluster worker's asks the primary. */
  metricsSource?: (registry: Registry) => MetricsSource;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** The sockets' high-water mark: one CDN read's plaintext and one more 64 KiB piece. */
const REPLY_HIGH_WATER_MARK = READ_SIZE + 64 * 1024;

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
    // Node's HTTP server corks a reply's socket until the next tick; with the socket's default
    // 64 KiB mark each 64 KiB piece of a download filled it, so the pipe paused and every piece
    // went out in a tick and a write of its own. Room for one CDN read's plaintext (1 MiB) lets
    // all of its pieces leave in one writev (see docs/decisions.md, Media transfers).
    http: { highWaterMark: REPLY_HIGH_WATER_MARK },
    // Answers that never reach a route keep the envelope and the request id (protocol-errors.ts).
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerJsonBody(app);
  const metrics = createMetrics();
  registerRequestLog(
    app,
    httpSeries(metrics.registry, (code) => metrics.httpError(code)),
  );

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  const accounts = createAccountService(store.db, clock);
  const apiKeys = createApiKeyService(store.db, clock, { cacheTtlMs: config.keyCacheTtlMs });
  if (!deps.secretBox && !config.secretKey) throw new Error('SECRET_KEY (or a secretBox) is required.');
  const secretBox = deps.secretBox ?? createSecretBox(config.secretKey!, config.secretKeyPrevious);
  const sessions = createSessionService(store.db, clock, {
    secretBox,
    proxyAllowPrivateNetworks: config.addressPolicy.proxyAllowPrivateNetworks,
  });
  const m = config.media;
  const cdn =
    deps.cdn ??
    createCdnClient({
      baseUrl: m.cdnBaseUrl,
      allowlist: parseAllowlist(m.cdnAllowlist),
      connectTimeoutMs: m.cdnConnectTimeoutMs,
      proxyTimeoutMs: m.proxyConnectTimeoutMs,
      headersTimeoutMs: m.cdnHeadersTimeoutMs,
      bodyTimeoutMs: m.cdnBodyTimeoutMs,
      maxRetries: m.cdnMaxRetries,
      proxyAllowPrivateNetworks: config.addressPolicy.proxyAllowPrivateNetworks,
      // The CDN file is the plaintext plus at most one block of padding and the MAC.
      maxBytes: m.maxBytes + 26,
      logger: deps.logger,
      onRetry: (kind) => metrics.media.cdnRetry(kind),
      onBytes: (n) => metrics.media.bytes('cdn_in', n),
    });
  // Built in one direction, each from what came before: settings → bucket → events → sessions →
  // media source → media and persist services → background workers.
  // Every S3 client gets the configured deadlines, unless a test or embedder brings its own.
  const endpointGuard = { allowPrivate: config.addressPolicy.s3AllowPrivateEndpoints };
  const s3Factory = deps.s3ClientFactory ?? s3ClientFactory(config.s3Deadlines, endpointGuard);
  const settings = createSettingsService({
    db: store.db,
    clock,
    secretBox,
    serverDefault: config.s3Default,
    probe: createBucketProbe(s3Factory),
    endpointGuard,
  });
  const buckets = createBuckets({
    resolve: settings.storageOf,
    clientFactory: s3Factory,
    partSize: config.s3Upload.partSize,
    queueSize: config.s3Upload.queueSize,
    checksums: config.s3Upload.checksums,
    observer: metrics.media,
    logger: deps.logger.child({ component: 'storage' }),
  });
  const events = createEventPipeline({ store, clock, config, secretBox, buckets, logger: deps.logger, metrics });
  const ingest = events.wrapIngest(createIngest({ db: store.db, clock, secretBox, listeners: [events.onIngest] }));
  // Every status change goes through these, inside its transaction (the session manager takes them).
  const statusListeners: SessionStatusListener[] = [events.onSessionStatus, ...(deps.statusListeners ?? [])];
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
    proxyAllowPrivateNetworks: config.addressPolicy.proxyAllowPrivateNetworks,
  });
  const limiter = createTransferLimiter(m.maxConcurrentTransfers, m.maxConcurrentTransfersPerAccount);
  metrics.watch({
    db: store.db,
    clock,
    transfers: limiter,
    maxTransfers: m.maxConcurrentTransfers,
    logger: deps.logger,
    cdnLifetimeMs: CDN_LIFETIME_MS,
  });
  const lookup = createMediaLookup({ db: store.db, sessions });
  // Expired media are re-uploaded by the sender's phone through its session (download and persist).
  const repair = createMediaRepair({ db: store.db, clock, logger: deps.logger, metrics });
  const source = createMediaSource({
    secretBox,
    cdn,
    limiter,
    buckets,
    maxBytes: m.maxBytes,
    recoverExpired: whatsapp.recoverExpired,
    repair,
  });
  const transfers = createSessionTransfers();
  // Set once closing starts, so transfers cut by the shutdown say so.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const accounting = createTransferAccounts({
    metrics: metrics.media,
    logger: deps.logger,
    shuttingDown: () => closing,
  });
  const media = createMediaService({
    db: store.db,
    lookup,
    source,
    buckets,
    transfers,
    accounting,
    logger: deps.logger,
  });
  // Uploads are recorded (and claimed across processes) in the database before they start.
  const owner = processOwner();
  const claims = createUploadClaims({
    db: store.db,
    clock,
    owner,
    leaseMs: config.uploads.leaseMs,
    pollMs: 200,
    logger: deps.logger,
  });
  const persist = createPersistService({
    db: store.db,
    clock,
    lookup,
    source,
    buckets,
    claims,
    transfers,
    accounting,
    repair,
    cleanupTimeoutMs: config.s3Deadlines.stallTimeoutMs,
    logger: deps.logger,
  });
  const sweeper = createUploadSweeper({
    db: store.db,
    clock,
    owner,
    buckets,
    options: {
      leaseMs: config.uploads.leaseMs,
      intervalMs: config.uploads.sweepIntervalMs,
      strayAgeMs: config.uploads.strayAgeMs,
      dryRun: config.uploads.dryRun,
    },
    logger: deps.logger,
    metrics,
  });
  const catalog = createMediaCatalog({ db: store.db, sessions, buckets });
  const deletion = createMediaDeletion({
    db: store.db,
    clock,
    lookup,
    onDeleted: events.onMediaDeleted,
    wakeDeletions: () => events.deletionsDue.ring(),
    notify: events.notify,
    metrics,
  });
  const background = createBackground({ store, clock, config, events, persist, buckets, logger: deps.logger, metrics });
  const webhooks = createWebhookService({
    db: store.db,
    clock,
    secretBox,
    rules: config.webhooks,
    outbox: events.outbox,
    wake: () => events.dispatcher.wake(),
  });
  const simulator = config.simulatorEnabled
    ? createSimulator({
        dir: join(config.dataDir, 'simulator'),
        maxBytes: m.maxBytes,
        clock,
        sessions,
        ingest,
        origin: () => selfOrigin(app, config.publicUrl),
      })
    : null;
  if (simulator) {
    // The simulated CDN is this server: allow its path (and nothing else of it) while the simulator is on.
    app.addHook('onListen', async () => cdn.allowOrigin(selfOrigin(app, config.publicUrl), SIMULATOR_CDN_PREFIX));
    const janitor = createSimulatorJanitor({
      db: store.db,
      clock,
      cdnDir: simulator.cdnDir,
      retentionMs: config.simulatorRetentionHours * 3_600_000,
      intervalMs: 10 * 60_000,
      logger: deps.logger.child({ component: 'simulator' }),
    });
    app.addHook('onReady', async () => janitor.start());
    app.addHook('preClose', async () => janitor.stop());
  }

  await registerOpenApi(app, { version: VERSION, publicUrl: config.publicUrl });
  registerMetrics(app, deps.metricsSource?.(metrics.registry) ?? metrics.registry);
  await app.register(healthRoutes, { db: store.db });
  // One count of failed authentications per client address, for /admin and /api together.
  const authLimiter = createAuthLimiter({
    max: config.authFailures.max,
    windowSeconds: config.authFailures.windowSeconds,
  });
  await app.register(adminRoutes, { prefix: '/admin', accounts, apiKeys, masterKey: config.masterKey, authLimiter });
  await app.register(
    async (api) => {
      registerApiKeyAuth(api, apiKeys, authLimiter);
      await registerRateLimit(api, config.rateLimit);
      await api.register(accountRoutes, { accounts, apiKeys });
      await api.register(sessionRoutes, {
        sessions,
        manager: whatsapp,
        cancelTransfers: (accountId, session) => void transfers.cancel(accountId, session),
      });
      await api.register(pairingRoutes, { manager: whatsapp });
      await api.register(settingsRoutes, { settings });
      await api.register(mediaRoutes, { media, persist, catalog, deletion, onPersisted: events.requestHook });
      await api.register(webhookRoutes, { webhooks });
      await (simulator ? api.register(simulatorRoutes, { simulator }) : api.register(simulatorDisabledRoutes));
    },
    { prefix: '/api' },
  );
  if (simulator) await app.register(simulatorCdnRoutes, { simulator });

  // Workers start with the app (inject()-based tests included) and stop before the store closes.
  app.addHook('onReady', async () => {
    background.start();
    sweeper.start();
  });
  registerShutdownOrder(app, {
    refuseTransfers: () => limiter.close(),
    async abortPersists() {
      // The runner first marks itself stopping, so its aborted jobs are given back, not failed.
      const runnerStopped = background.stopPersisting();
      persist.abortAll();
      await runnerStopped;
    },
    async release() {
      await background.stop();
      await sweeper.stop();
      buckets.close();
      if (!deps.cdn) await cdn.close();
      await store.close();
    },
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
  const host =
    addr.family === 'IPv6'
      ? addr.address === '::'
        ? '[::1]'
        : `[${addr.address}]`
      : addr.address === '0.0.0.0'
        ? '127.0.0.1'
        : addr.address;
  return `http://${host}:${addr.port}`;
}
