import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { DURATION_BUCKETS } from '../metrics/media-metrics.js';
import type { RequestEnd } from './request-log.js';
import { errorResponses } from './schemas/common.js';
import { binaryResponse } from './schemas/responses.js';

/** What `GET /metrics` reads: a registry, or in a cluster worker every worker's series (cluster/worker-link.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** `GET /metrics` from `source`. */
export function registerMetrics(app: FastifyInstance, source: MetricsSource) {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text format)',
        response: {
          200: binaryResponse('The metrics in the Prometheus text format.', ['text/plain']),
          // With WORKERS > 1, when a worker's series could not be gathered.
          ...errorResponses(503),
        },
      },
    },
    async (_req, reply) => reply.type(source.contentType).send(await source.metrics()),
  );
}

/** The HTTP series: requests by route and status, their latency, and errors by code. */
export function httpSeries(registry: Registry, httpError: (code: string) => void): (end: RequestEnd) => void {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests',
    labelNames,
    registers: [registry],
  });
  // Up to an hour: a media download of a few GiB to a slow client is one request.
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency, to the last byte',
    labelNames,
    buckets: [0.005, 0.01, 0.025, ...DURATION_BUCKETS],
    registers: [registry],
  });

  return (end) => {
    // The route pattern, not the URL, so label cardinality stays bounded.
    const labels = { method: end.method, route: end.route, status: String(end.statusCode) };
    requests.inc(labels);
    duration.observe(labels, end.seconds);
    if (end.code) httpError(end.code);
  };
}
