import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

// The envelope and code of every class of error the HTTP layer produces.
describe('error envelope', () => {
  let t: TestApp;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { BODY_LIMIT_BYTES: '2048' }, (app) => {
      app.get('/boom', () => {
        throw new Error('database password is hunter2');
      });
    });
    auth = (await t.newAccount()).auth;
  });
  afterAll(() => t.close());

  const expectEnvelope = (body: Record<string, unknown>, code: string) => {
    expect(body).toMatchObject({ error: expect.any(String), code, docs: expect.stringContaining(code.toLowerCase()) });
  };

  it('404 ROUTE_NOT_FOUND for unknown routes, inside and outside /api', async () => {
    for (const url of ['/nope', '/api/nope', '/api/sessions/x/unknown']) {
      const res = await t.app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode).toBe(404);
      expectEnvelope(res.json(), 'ROUTE_NOT_FOUND');
    }
  });

  it('400 VALIDATION_FAILED with per-field details', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: '-bad', proxy: 'ftp://x', extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expectEnvelope(body, 'VALIDATION_FAILED');
    const fields = (body.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.proxy']));
  });

  it('400 INVALID_JSON for a malformed body', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expectEnvelope(res.json(), 'INVALID_JSON');
  });

  it('413 PAYLOAD_TOO_LARGE for an oversized body', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'a', config: { pad: 'x'.repeat(4096) } },
    });
    expect(res.statusCode).toBe(413);
    expectEnvelope(res.json(), 'PAYLOAD_TOO_LARGE');
  });

  it('415 UNSUPPORTED_MEDIA_TYPE for a wrong content type', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(res.statusCode).toBe(415);
    expectEnvelope(res.json(), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('409 SESSION_EXISTS for a duplicate session name', async () => {
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'dup' } }))
        .statusCode,
    ).toBe(201);
    const res = await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'dup' } });
    expect(res.statusCode).toBe(409);
    expectEnvelope(res.json(), 'SESSION_EXISTS');
  });

  it('500 INTERNAL_ERROR with a generic message; details only in the log', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expectEnvelope(body, 'INTERNAL_ERROR');
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
    expect(t.logs.text()).toContain('hunter2');
  });
});

describe('error docs link', () => {
  it('opens a rendered page of the catalogue with an anchor for every code', async () => {
    const t = await buildTestApp('sqlite');
    try {
      const res = await t.app.inject('/nope');
      const [page, anchor] = (res.json().docs as string).split('#');
      expect(anchor).toBe('route_not_found');
      const doc = await t.app.inject(page!);
      expect(doc.statusCode).toBe(200);
      expect(doc.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(doc.body).toContain('<tr id="route_not_found">');
      // Every code of docs/errors.md has its row anchor.
      const codes = [
        ...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(
          /^\| `([A-Z][A-Z0-9_]+)` \|/gm,
        ),
      ].map((m) => m[1]!);
      expect(codes.length).toBeGreaterThan(20);
      expect(codes.filter((c) => !doc.body.includes(`<tr id="${c.toLowerCase()}">`))).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
