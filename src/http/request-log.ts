import type { FastifyInstance } from 'fastify';

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

/** Every answer names its request id; one log line per request, with the route and the account when known. */
export function registerRequestLog(app: FastifyInstance) {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: redactUrl(request.url),
        route: request.routeOptions.url ?? null,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        accountId: request.principal?.accountId,
      },
      'request',
    );
  });
}
