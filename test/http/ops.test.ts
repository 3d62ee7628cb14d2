import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';

describe('operations: probes, metrics, request ids, logs, rate limits', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { RATE_LIMIT_MAX: '5', RATE_LIMIT_WINDOW_SECONDS: '60' });
    a = await t.newAccount();
  });
  afterAll(() => t.close());

  it('/healthz and /readyz answer without auth', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject('/readyz')).json()).toEqual({ status: 'ok' });
  });

  it('echoes a caller’s X-Request-Id and mints one otherwise', async () => {
    const given = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const minted = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(minted.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one line per request with request id, account and status, and never the key', async () => {
    const res = await t.app.inject({ url: '/api/account', headers: { ...a.auth, 'x-request-id': 'log-check-1' } });
    expect(res.statusCode).toBe(200);
    const lines = t.logs.lines.filter((l) => l.reqId === 'log-check-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', statusCode: 200, accountId: a.accountId, url: '/api/account' });
    expect(t.logs.text()).not.toContain(a.key);
  });

  it('exposes Prometheus metrics by route and status', async () => {
    await t.app.inject({ url: '/api/account', headers: a.auth });
    const res = await t.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/api\/account",status="200"\} \d+/);
    expect(res.body).toContain('http_request_duration_seconds_bucket');
    expect(res.body).toContain('process_resident_memory_bytes');
  });

  it('rate limits per key with X-RateLimit headers and Retry-After on 429', async () => {
    const k1 = await t.newKey(a.accountId, ['sessions:read']);
    const k2 = await t.newKey(a.accountId, ['sessions:read']);
    const responses = [];
    for (let i = 0; i < 6; i++) responses.push(await t.app.inject({ url: '/api/sessions', headers: k1.auth }));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 429]);
    const last = responses[5]!;
    expect(last.headers['x-ratelimit-limit']).toBe('5');
    expect(last.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    expect(last.json()).toMatchObject({ code: 'RATE_LIMITED' });
    // Another key of the same account has its own budget.
    const other = await t.app.inject({ url: '/api/sessions', headers: k2.auth });
    expect(other.statusCode).toBe(200);
    expect(other.headers['x-ratelimit-remaining']).toBe('4');
  });

  it('/readyz answers 503 when the database is gone', async () => {
    const t2 = await buildTestApp('sqlite');
    await t2.db.store.close();
    const res = await t2.app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await t2.app.close().catch(() => undefined);
    await t2.db.destroy();
  });
});
