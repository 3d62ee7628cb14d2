import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, MASTER_KEY, type TestApp } from '../support/app.js';

describe('failed authentication is rate limited per client address', () => {
  let t: TestApp;
  let valid: { authorization: string };

  beforeAll(async () => {
    t = await buildTestApp('sqlite', { AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW_SECONDS: '60' });
    valid = (await t.newAccount()).auth;
  });
  afterAll(() => t.close());

  const statuses = async (n: number, url: string, remoteAddress: string, guess: (i: number) => string) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++)
      out.push(
        (await t.app.inject({ url, remoteAddress, headers: { authorization: `Bearer ${guess(i)}` } })).statusCode,
      );
    return out;
  };

  it('a master-key brute force reaches 429 with Retry-After; other addresses keep working', async () => {
    const got = await statuses(40, '/admin/accounts', '203.0.113.9', (i) => `guess-master-key-${i}-xxxxxxxx`);
    expect(got.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(got.slice(5))).toEqual(new Set([429]));
    const limited = await t.app.inject({
      url: '/admin/accounts',
      remoteAddress: '203.0.113.9',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    // Even the right key: the answer must not tell a lucky guess apart while limited.
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['x-request-id']).toBeTruthy();
    const other = await t.app.inject({
      url: '/admin/accounts',
      remoteAddress: '198.51.100.4',
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(other.statusCode).toBe(200);
  });

  it('an API-key brute force reaches 429, while valid keys from other addresses keep working', async () => {
    const got = await statuses(40, '/api/sessions', '192.0.2.77', (i) => `titan_${String(i).padStart(43, 'x')}`);
    expect(got.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(got.slice(5))).toEqual(new Set([429]));
    for (const remoteAddress of ['192.0.2.78', '127.0.0.1']) {
      expect((await t.app.inject({ url: '/api/sessions', remoteAddress, headers: valid })).statusCode).toBe(200);
    }
    // Successful requests never count against an address.
    for (let i = 0; i < 20; i++)
      expect(
        (await t.app.inject({ url: '/api/sessions', remoteAddress: '192.0.2.90', headers: valid })).statusCode,
      ).toBe(200);
  });
});
