import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyService, Principal } from '../accounts/api-key-service.js';
import { hasScope, type Scope } from '../accounts/scopes.js';
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../errors.js';
import type { AuthLimiter } from './auth-limiter.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; checked before the body is read. */
    scope?: Scope;
  }
}

function bearer(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? null;
}

/** Refuses a client address that failed to authenticate too often lately (auth-limiter.ts). */
function checkNotLimited(limiter: AuthLimiter, request: FastifyRequest) {
  const wait = limiter.retryAfter(request.ip);
  if (wait > 0) throw new RateLimitedError(wait, 'Too many failed authentications from this address');
}

/** Guards every route of `app` (the `/api` scope) with an API key and the route's scope. */
export function registerApiKeyAuth(app: FastifyInstance, apiKeys: ApiKeyService, limiter: AuthLimiter) {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    checkNotLimited(limiter, request);
    const secret = bearer(request);
    if (!secret) throw new UnauthorizedError('Missing API key: send "Authorization: Bearer titan_…".');
    const principal = await apiKeys.authenticate(secret);
    if (!principal) {
      limiter.fail(request.ip);
      throw new UnauthorizedError('Invalid, expired or disabled API key.');
    }
    request.principal = principal;
    request.log = request.log.child({ accountId: principal.accountId, keyId: principal.keyId });
    const scope = request.routeOptions.config.scope;
    if (scope && !hasScope(principal.scopes, scope)) {
      throw new ForbiddenError(`This API key lacks the "${scope}" scope.`);
    }
  });
}

/** The caller of an authenticated route (set by the onRequest hook, so never null there). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

const sha = (s: string) => createHash('sha256').update(s).digest();

/** Guards `/admin` with MASTER_KEY; without one configured the admin API is closed. */
export function registerMasterKeyAuth(app: FastifyInstance, masterKey: string | undefined, limiter: AuthLimiter) {
  const expected = masterKey ? sha(masterKey) : null;
  app.addHook('onRequest', async (request) => {
    if (!expected) throw new UnauthorizedError('The admin API is disabled: set MASTER_KEY to enable it.');
    checkNotLimited(limiter, request);
    const given = bearer(request);
    // Compare digests so neither length nor content leaks through timing.
    if (!given || !timingSafeEqual(sha(given), expected)) {
      limiter.fail(request.ip);
      throw new UnauthorizedError('Missing or invalid master key.');
    }
  });
}
