import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountService } from '../../src/accounts/account-service.js';
import { createApiKeyService } from '../../src/accounts/api-key-service.js';
import { systemClock } from '../../src/clock.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import * as accountsRepo from '../../src/store/repositories/accounts.js';
import * as keysRepo from '../../src/store/repositories/api-keys.js';
import * as sessionsRepo from '../../src/store/repositories/sessions.js';
import * as settingsRepo from '../../src/store/repositories/settings.js';
import { createSessionService } from '../../src/sessions/session-service.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';

describe.each(DIALECTS)('store (%s)', (dialect) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(dialect);
  });
  afterAll(() => t.destroy());

  it('records applied migrations and re-running is a no-op', async () => {
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(t.store.db);
    expect(rows.rows.map((r) => r.name)).toEqual([
      '001-foundation',
      '002-media',
      '003-settings',
      '004-whatsapp',
      '005-webhooks',
      '006-uploads',
      '007-webhook-secret-rotation',
      '008-media-lifecycle',
    ]);
    expect(await migrateToLatest(t.store.db)).toEqual([]);
  });

  it('accounts: insert, find, list in creation order', async () => {
    // A clock that ticks on every read, so creation order is unambiguous.
    let ms = Date.parse('2030-01-01T00:00:00Z');
    const accounts = createAccountService(t.store.db, { now: () => new Date(ms++) });
    const a = await accounts.create('first');
    const b = await accounts.create('second');
    expect(await accountsRepo.findAccount(t.store.db, a.id)).toEqual({
      id: a.id,
      name: 'first',
      created_at: a.createdAt,
    });
    const ids = (await accountsRepo.listAccounts(t.store.db)).map((r) => r.id);
    expect(ids.indexOf(a.id)).toBeLessThan(ids.indexOf(b.id));
    expect((await accounts.defaultAccount()).id).toBe(ids[0]);
  });

  it('settings: the bucket JSON is parsed and checked on read; fields a row predates take their defaults', async () => {
    const a = await createAccountService(t.store.db, systemClock).create('settings');
    const row = {
      account_id: a.id,
      auto_persist: 0,
      download_mode: 'stream' as const,
      version: 1,
      updated_at: new Date().toISOString(),
    };
    await t.store.db
      .insertInto('account_settings')
      .values({ ...row, s3: JSON.stringify({ bucket: 'old-bucket', region: 'eu-west-1' }) })
      .execute();
    expect((await settingsRepo.findSettings(t.store.db, a.id))?.s3).toEqual({
      endpoint: null,
      region: 'eu-west-1',
      bucket: 'old-bucket',
      accessKeyId: null,
      forcePathStyle: false,
      keyPrefix: '',
      publicBaseUrl: null,
      presignExpiresSeconds: 3600,
      secretAccessKeySealed: null,
    });
    await t.store.db
      .updateTable('account_settings')
      .set({ s3: JSON.stringify({ region: 'eu-west-1' }) })
      .where('account_id', '=', a.id)
      .execute();
    await expect(settingsRepo.findSettings(t.store.db, a.id)).rejects.toThrow(
      /account_settings.s3 holds a value of the wrong shape/,
    );
  });

  it('api keys: round trip, scoped by account, hash is unique', async () => {
    const accounts = createAccountService(t.store.db, systemClock);
    const keys = createApiKeyService(t.store.db, systemClock, { cacheTtlMs: 0 });
    const a = await accounts.create('a');
    const b = await accounts.create('b');
    const k = await keys.create(a.id, { label: 'one', scopes: ['media:read', 'media:read'], lifetimeDays: 2 });
    expect(k.scopes).toEqual(['media:read']);
    expect(await keys.authenticate(k.key)).toEqual({ keyId: k.id, accountId: a.id, scopes: ['media:read'] });
    expect(await keysRepo.findApiKey(t.store.db, b.id, k.id)).toBeUndefined();
    expect(await keysRepo.updateApiKey(t.store.db, b.id, k.id, { label: 'stolen' })).toBe(false);
    expect(await keysRepo.deleteApiKey(t.store.db, b.id, k.id)).toBe(false);
    const row = await keysRepo.findApiKey(t.store.db, a.id, k.id);
    await expect(keysRepo.insertApiKey(t.store.db, { ...row!, id: 'key_other' })).rejects.toThrow();
    expect((await keys.update(a.id, k.id, { label: 'renamed', isActive: false })).label).toBe('renamed');
    expect(await keys.authenticate(k.key)).toBeNull();
  });

  it('sessions: unique per account, other accounts may reuse a name, cascade on delete', async () => {
    const accounts = createAccountService(t.store.db, systemClock);
    const sessions = createSessionService(t.store.db, systemClock, { proxyAllowPrivateNetworks: true });
    const a = await accounts.create('a');
    const b = await accounts.create('b');
    const s = await sessions.create(a.id, { name: 'shop', proxy: 'socks5://p:1080', config: { x: 1 } });
    expect(s).toMatchObject({ name: 'shop', status: 'DISCONNECTED', proxy: 'socks5://p:1080', config: { x: 1 } });
    await expect(sessions.create(a.id, { name: 'shop' })).rejects.toMatchObject({ code: 'SESSION_EXISTS' });
    await sessions.create(b.id, { name: 'shop' });
    expect((await sessions.list(a.id)).map((x) => x.name)).toEqual(['shop']);
    await expect(sessions.get(b.id, 'nope')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    const row = await sessionsRepo.findSessionByName(t.store.db, a.id, 'shop');
    await sessionsRepo.updateSession(t.store.db, row!.id, { status: 'CONNECTED', push_name: 'Ann' });
    expect(await sessions.get(a.id, 'shop')).toMatchObject({ status: 'CONNECTED', pushName: 'Ann' });
    await sessions.remove(a.id, 'shop');
    await expect(sessions.get(a.id, 'shop')).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(await sessions.get(b.id, 'shop')).toMatchObject({ name: 'shop' });
  });

  it('two concurrent creates of one session name: exactly one wins', async () => {
    const accounts = createAccountService(t.store.db, systemClock);
    const sessions = createSessionService(t.store.db, systemClock);
    const a = await accounts.create('race');
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => sessions.create(a.id, { name: 'same' })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected'))
      expect(r.reason).toMatchObject({ code: 'SESSION_EXISTS' });
  });
});
