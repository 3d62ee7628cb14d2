import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** What the error handler learnt about a request, for its one line and the error counter. */
interface RequestFailure {
  code: string;
  /** Kept for 5xx answers and for failures after the headers went out. */
  err?: unknown;
  /** Why a refusal was made, for the operator (the tenant got a generic sentence). */
  detail?: string;
}

const failures = new WeakMap<FastifyRequest, RequestFailure>();

/** Query parameters whose values are credentials or signatures: never written to a log. */
const SENSITIVE = /^(token|access_token|api_key|apikey|key|secret|password|signature|sig|x-amz-.*|x-goog-.*)$/i;

/**
 * A request URL fit for a log line: the values of sensitive query parameters replaced, so a key
 * mistakenly sent as `?token=` or a presigned URL's signature never lands in the log.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        name = rawName;
      }
      return SENSITIVE.test(name.trim()) && eq !== -1 ? `${rawName}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/** Records the error `code` a request answered (or was cut) with; the last one wins. */
export function noteFailure(request: FastifyRequest, failure: RequestFailure): void {
  failures.set(request, failure);
}

/** Probes, scrapes, the API reference and the simulated CDN: logged at debug, not info. */
export function isQuietRoute(route: string | undefined): boolean {
  if (route === undefined) return false;
  return (
    route === '/metrics' ||
    route === '/healthz' ||
    route === '/readyz' ||
    route === '/docs' ||
    route.startsWith('/docs/') ||
    route.startsWith('/simulator/cdn/')
  );
}

export interface RequestEnd {
  method: string;
  route: string;
  statusCode: number;
  seconds: number;
  /** The error code answered, if any. */
  code: string | undefined;
}

/**
 * Exactly one line per request, written when the response closes: finished, failed, or cut
 * because the client went away (Fastify's own onResponse never runs in that last case).
 * `onEnd` sees the same facts, for the HTTP series.
 */
export function registerRequestLog(app: FastifyInstance, onEnd: (end: RequestEnd) => void) {
  app.addHook('onRequest', async (request, reply) => {
    reply.raw.once('close', () => writeLine(request, reply, onEnd));
  });
}

function writeLine(request: FastifyRequest, reply: FastifyReply, onEnd: (end: RequestEnd) => void) {
  const route = request.routeOptions.url;
  const statusCode = reply.raw.statusCode;
  const failure = failures.get(request);
  // end() was never called and we did not cut it: the client closed before the whole answer.
  const clientGone = !reply.raw.writableEnded && failure?.err === undefined;
  const ms = Math.round(reply.elapsedTime);
  onEnd({ method: request.method, route: route ?? 'unmatched', statusCode, seconds: ms / 1000, code: failure?.code });
  const line = {
    method: request.method,
    url: redactUrl(request.url),
    route: route ?? null,
    statusCode,
    ms,
    ...(failure ? { code: failure.code } : {}),
    ...(failure?.detail ? { detail: failure.detail } : {}),
    ...(failure?.err === undefined ? {} : { err: failure.err }),
    ...(clientGone ? { clientGone: true } : {}),
  };
  // Accounts and keys are bound to request.log by the auth hook, so they are not repeated here.
  if (statusCode >= 500 || failure?.err !== undefined) request.log.error(line, 'request');
  else if (isQuietRoute(route) && statusCode < 400 && !clientGone) request.log.debug(line, 'request');
  else request.log.info(line, 'request');
}
