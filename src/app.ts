import { randomUUID } from 'node:crypto';
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
import { registerOpenApi } from './http/openapi.js';
import { registerRateLimit } from './http/rate-limit.js';
import { accountRoutes } from './http/routes/account.js';
import { adminRoutes } from './http/routes/admin.js';
import { healthRoutes } from './http/routes/health.js';
import { sessionRoutes } from './http/routes/sessions.js';
import { createSessionService } from './sessions/session-service.js';
import type { Store } from './store/db.js';
import { VERSION } from './version.js';

/** Everything the app needs from outside; tests pass their own (real store, test adapters). */
export interface AppDeps {
  config: Config;
  store: Store;
  logger: Logger;
  clock?: Clock;
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

  await registerOpenApi(app, VERSION);
  registerMetrics(app);
  await app.register(healthRoutes, { db: store.db });
  await app.register(adminRoutes, { prefix: '/admin', accounts, apiKeys, masterKey: config.masterKey });
  await app.register(
    async (api) => {
      registerApiKeyAuth(api, apiKeys);
      await registerRateLimit(api, config.rateLimit);
      await api.register(accountRoutes, { accounts, apiKeys });
      await api.register(sessionRoutes, { sessions });
    },
    { prefix: '/api' },
  );

  app.addHook('onClose', async () => {
    await store.close();
  });
  return app;
}
