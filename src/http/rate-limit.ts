import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { RateLimitedError } from '../errors.js';

/** Per-API-key limits (after auth, before the body is read). */
export async function registerRateLimit(app: FastifyInstance, opts: { max: number; windowSeconds: number }) {
  await app.register(rateLimit, {
    global: true,
    hook: 'preParsing',
    max: opts.max,
    timeWindow: opts.windowSeconds * 1000,
    keyGenerator: (req) => req.principal?.keyId ?? req.ip,
    errorResponseBuilder: (_req, ctx) => new RateLimitedError(Math.max(1, Math.ceil(ctx.ttl / 1000))),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: {
      'x-ratelimit-limit': true,
      'x-ratelimit-remaining': true,
      'x-ratelimit-reset': true,
      'retry-after': true,
    },
  });
}
