import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../src/webhooks/events.js';
import { buildTestApp, type TestApp } from '../support/app.js';

interface Op {
  operationId: string;
  security: unknown;
  parameters: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }>;
}
interface Doc {
  servers: unknown[];
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, unknown> };
  webhooks: Record<string, { post: { parameters: { name: string }[] } }>;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  const routes: { method: string; url: string }[] = [];
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true' }, (app) => {
      app.addHook('onRoute', (r) => {
        for (const m of [r.method].flat()) routes.push({ method: m, url: r.url });
      });
    });
  });
  afterAll(() => t.close());

  it('is served as JSON and lists every registered route with its error responses', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    // Routes registered before our hook are seen through printRoutes; compare against the doc.
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    const all = listRoutes(t.app.printRoutes({ commonPrefix: false, includeHooks: false, includeMeta: ['hide'] }));
    const mustDocument = all.filter((r) => !r.startsWith('HEAD ') && !r.includes('/docs') && !r.startsWith('OPTIONS '));
    expect(mustDocument.length).toBeGreaterThan(10);
    for (const r of mustDocument) expect(documented, `${r} is not in the OpenAPI document`).toContain(r);
    for (const [p, ops] of Object.entries(doc.paths)) {
      if (p.startsWith('/api/') || p.startsWith('/admin/')) {
        for (const [m, op] of Object.entries(ops)) {
          expect(Object.keys(op.responses), `${m} ${p} lists no 4xx`).toEqual(expect.arrayContaining(['401', '500']));
        }
      }
    }
  });

  it('serves the Scalar reference at /docs, its script from this server, and no second copy of the document', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    const script = /<script src="([^"]+)"/.exec(res.body)?.[1];
    expect(script).toBeDefined();
    expect(script).not.toMatch(/^https?:/);
    const js = await t.app.inject({ method: 'GET', url: new URL(script!, 'http://x/docs/').pathname });
    expect(js.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(404);
  });

  it('declares security per operation, camelCase operationIds, file responses and bodies, and every webhook event', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<Doc>();
    const ids: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        ids.push(op.operationId);
        const expected = p.startsWith('/api/') ? [{ apiKey: [] }] : p.startsWith('/admin/') ? [{ masterKey: [] }] : [];
        expect(op.security, `${p} security`).toEqual(expected);
        expect(op.responses['414'] && op.responses['431'], `${p} 414/431`).toBeTruthy();
        if (p.startsWith('/api/')) expect(Object.keys(op.responses), p).toContain('429');
        if (op.requestBody?.content['application/json'])
          expect(Object.keys(op.responses), p).toEqual(expect.arrayContaining(['413', '415']));
      }
    }
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const download = doc.paths['/api/sessions/{session}/media/{mediaId}/download']!.post!;
    expect(download.parameters.filter((x) => x.in === 'header').map((x) => x.name)).toEqual(['range', 'if-range']);
    for (const s of ['200', '206']) {
      expect(Object.keys(download.responses[s]!.content!)).toEqual(
        expect.arrayContaining(['image/*', 'application/octet-stream']),
      );
      expect(download.responses[s]!.content!['image/*']!.schema).toEqual({ type: 'string', format: 'binary' });
      expect(Object.keys(download.responses[s]!.headers!)).toEqual(
        expect.arrayContaining([
          'ETag',
          'Content-Length',
          'Content-Disposition',
          'X-Request-Id',
          'X-RateLimit-Remaining',
        ]),
      );
    }
    expect(Object.keys(download.responses['206']!.headers!)).toContain('Content-Range');
    expect(Object.keys(download.responses['302']!.headers!)).toContain('Location');
    expect(Object.keys(download.responses['503']!.headers!)).toContain('Retry-After');
    const simulate = doc.paths['/api/sessions/{session}/simulate/media']!.post!;
    expect(simulate.requestBody!.content['image/jpeg']!.schema).toMatchObject({ type: 'string', format: 'binary' });
    expect(doc.components.schemas.SimulatedMedia).toMatchObject({ properties: { mediaId: { type: 'string' } } });
    expect(Object.keys(doc.components.schemas).filter((n) => n.endsWith('Input'))).toEqual([]);
    expect(doc.components.schemas.Media).toMatchObject({
      properties: {
        createdAt: { format: 'date-time' },
        fileLength: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
      },
    });
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_NAMES, 'webhook.test'].sort());
    // Standard Webhooks' three headers, then Titan's three (every delivery carries all six).
    expect(doc.webhooks['message.received']!.post.parameters.map((x) => x.name)).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
      'X-Webhook-Id',
      'X-Webhook-Timestamp',
      'X-Webhook-Signature',
    ]);
    expect(doc.servers.length).toBeGreaterThan(0);
  });
});

/** Flattens Fastify's printed route tree into "METHOD /path/{param}" strings. */
function listRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+) \(([A-Z, ]+)\)/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('').replace(/\/\//g, '/');
    for (const method of m[3]!.split(',').map((x) => x.trim())) {
      out.push(`${method} ${path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    }
  }
  return out;
}
