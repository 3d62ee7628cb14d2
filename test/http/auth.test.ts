import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, MASTER_KEY, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

describe.each(DIALECTS)('auth and tenancy (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(dialect, { KEY_CACHE_TTL_MS: '0' });
  });
  afterAll(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

  it.each([
    ['missing', {}],
    ['malformed', { authorization: 'Token abc' }],
    ['not a titan key', { authorization: 'Bearer hello' }],
    ['unknown', { authorization: `Bearer titan_${'A'.repeat(43)}` }],
  ])('rejects a %s key with 401 UNAUTHORIZED', async (_name, headers) => {
    const res = await get('/api/account', headers);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED', error: expect.any(String) });
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('accepts a valid key and returns the account in the envelope', async () => {
    const a = await t.newAccount();
    const res = await get('/api/account', a.auth);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: { id: a.accountId, name: 'acme', createdAt: expect.any(String) } });
  });

  it('rejects a disabled key right away, and accepts it again once re-enabled', async () => {
    const a = await t.newAccount();
    const other = await t.newKey(a.accountId, ['sessions:read']);
    expect((await get('/api/sessions', other.auth)).statusCode).toBe(200);
    const off = await t.app.inject({
      method: 'PATCH',
      url: `/api/account/keys/${other.id}`,
      headers: a.auth,
      payload: { isActive: false },
    });
    expect(off.statusCode).toBe(200);
    expect(off.json().data.isActive).toBe(false);
    expect((await get('/api/sessions', other.auth)).statusCode).toBe(401);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/account/keys/${other.id}`,
      headers: a.auth,
      payload: { isActive: true },
    });
    expect((await get('/api/sessions', other.auth)).statusCode).toBe(200);
  });

  it('rejects an expired key', async () => {
    const a = await t.newAccount();
    const k = await t.newKey(a.accountId, ['*'], { lifetimeDays: 1 });
    expect((await get('/api/account', k.auth)).statusCode).toBe(200);
    // Expire it in the database, as time passing would.
    await t.db.store.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', k.id)
      .execute();
    const res = await get('/api/account', k.auth);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
  });

  it('rejects a deleted key', async () => {
    const a = await t.newAccount();
    const k = await t.newKey(a.accountId, ['*']);
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/account/keys/${k.id}`, headers: a.auth })).statusCode,
    ).toBe(204);
    expect((await get('/api/account', k.auth)).statusCode).toBe(401);
  });

  it('answers 403 FORBIDDEN when the key lacks the scope', async () => {
    const a = await t.newAccount(['sessions:read']);
    const res = await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'x' } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await get('/api/sessions', a.auth)).statusCode).toBe(200);
    expect((await get('/api/account/keys', a.auth)).statusCode).toBe(403);
  });

  it('does not let a key mint a key with scopes it does not hold', async () => {
    const a = await t.newAccount();
    const limited = await t.newKey(a.accountId, ['*']);
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/account/keys',
      headers: limited.auth,
      payload: { label: 'r', scopes: ['media:read'] },
    });
    expect(ok.statusCode).toBe(201);
    const created = ok.json().data;
    expect(created.key).toMatch(/^titan_[A-Za-z0-9_-]{43}$/);
    // The secret is shown once: the listing never has it.
    const list = await get('/api/account/keys', a.auth);
    expect(JSON.stringify(list.json())).not.toContain(created.key);
    expect(list.json().data.map((k: { id: string }) => k.id)).toContain(created.id);

    const narrow = await t.newKey(a.accountId, ['media:read']);
    // Creating keys needs `*`, so a narrow key cannot even try.
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/account/keys',
      headers: narrow.auth,
      payload: { label: 'x', scopes: ['*'] },
    });
    expect(denied.statusCode).toBe(403);
  });

  it('stores only a hash of the key', async () => {
    const a = await t.newAccount();
    const rows = await t.db.store.db.selectFrom('api_keys').selectAll().where('account_id', '=', a.accountId).execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(a.key);
    expect(rows[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps accounts apart: B cannot see, delete or detect A’s sessions and keys', async () => {
    const a = await t.newAccount();
    const b = await t.newAccount();
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } }))
        .statusCode,
    ).toBe(201);
    const aKeys = (await get('/api/account/keys', a.auth)).json().data as { id: string }[];

    expect((await get('/api/sessions', b.auth)).json()).toEqual({ data: [] });
    const missing = await get('/api/sessions/nope', b.auth);
    const foreign = await get('/api/sessions/shop', b.auth);
    // Another account's session is indistinguishable from a missing one.
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toEqual(missing.json());
    expect((await t.app.inject({ method: 'DELETE', url: '/api/sessions/shop', headers: b.auth })).statusCode).toBe(404);
    // B may create its own "shop": names are unique per account only.
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/sessions', headers: b.auth, payload: { name: 'shop' } }))
        .statusCode,
    ).toBe(201);

    const bKeys = (await get('/api/account/keys', b.auth)).json().data as { id: string }[];
    expect(bKeys.map((k) => k.id)).not.toContain(aKeys[0]!.id);
    for (const method of ['PATCH', 'DELETE'] as const) {
      const res = await t.app.inject({
        method,
        url: `/api/account/keys/${aKeys[0]!.id}`,
        headers: b.auth,
        payload: method === 'PATCH' ? { isActive: false } : undefined,
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('API_KEY_NOT_FOUND');
    }
    expect((await get('/api/sessions/shop', a.auth)).statusCode).toBe(200);
    expect((await get('/api/account', a.auth)).statusCode).toBe(200);
  });

  it('accepts the master key only on /admin, and API keys never on /admin', async () => {
    const master = { authorization: `Bearer ${MASTER_KEY}` };
    expect((await get('/admin/accounts', master)).statusCode).toBe(200);
    expect((await get('/api/account', master)).statusCode).toBe(401);
    const a = await t.newAccount();
    expect((await get('/admin/accounts', a.auth)).statusCode).toBe(401);
    expect((await get('/admin/accounts')).statusCode).toBe(401);
  });

  it('creates keys for the default account when the admin omits accountId', async () => {
    const master = { authorization: `Bearer ${MASTER_KEY}` };
    const res = await t.app.inject({
      method: 'POST',
      url: '/admin/keys',
      headers: master,
      payload: { label: 'ops', scopes: ['media:read'] },
    });
    expect(res.statusCode).toBe(201);
    const accounts = (await get('/admin/accounts', master)).json().data as { id: string }[];
    expect(res.json().data.accountId).toBe(accounts[0]!.id);
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/admin/keys',
      headers: master,
      payload: { accountId: 'acc_nope', label: 'x', scopes: ['*'] },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('ACCOUNT_NOT_FOUND');
  });
});

describe('admin API without MASTER_KEY', () => {
  it('is closed', async () => {
    const t = await buildTestApp('sqlite', { MASTER_KEY: '' });
    try {
      const res = await t.app.inject({
        method: 'GET',
        url: '/admin/accounts',
        headers: { authorization: 'Bearer anything-at-all-here' },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatch(/MASTER_KEY/);
    } finally {
      await t.close();
    }
  });
});
