import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

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
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    // Routes registered before our hook are seen through printRoutes; compare against the doc.
    const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
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

  it('serves an interactive reference at /docs', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
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
