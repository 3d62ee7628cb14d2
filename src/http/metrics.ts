import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { binaryResponse } from './schemas/responses.js';

/** `GET /metrics` for `registry`, plus requests by route and status and their latency. */
export function registerMetrics(app: FastifyInstance, registry: Registry) {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, so label cardinality stays bounded.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/metrics', {
      schema: {
        tags: ['ops'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text format)',
        response: { 200: binaryResponse('The metrics in the Prometheus text format.', ['text/plain']) },
      },
    }, async (_req, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
