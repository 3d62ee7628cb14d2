import { proto } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createSecretBox } from '../../src/crypto/secret-box.js';
import { loadDbAuthState } from '../../src/whatsapp/auth-state.js';
import { buildTestApp, SECRET_KEY, type TestApp } from '../support/app.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';
import { ACCOUNT, eventually, FAST_SESSIONS, FakeWhatsApp } from '../support/fake-whatsapp.js';

describe.each(DIALECTS)('Baileys auth state in the database (%s)', (dialect) => {
  let db: TestDb;
  const apps: TestApp[] = [];
  const secretBox = createSecretBox(SECRET_KEY);

  beforeAll(async () => {
    db = await createTestDb(dialect);
  });
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
    await db.destroy();
  });

  /** One server "process" on the shared database. */
  async function server(wa: FakeWhatsApp) {
    const t = await buildTestApp(dialect, FAST_SESSIONS, undefined, {
      shared: db,
      deps: { socketFactory: wa.factory },
    });
    apps.push(t);
    return t;
  }
  const sessionId = async (name: string) =>
    (await db.store.db.selectFrom('sessions').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;

  it('keeps credentials and signal keys sealed, written per batch, and reads them back as Baileys expects', async () => {
    const t = await server(new FakeWhatsApp());
    const { auth } = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'keys' } });
    const id = await sessionId('keys');
    const deps = { db: db.store.db, secretBox, clock: systemClock };

    const fresh = await loadDbAuthState(deps, id);
    expect(fresh.state.creds.registrationId).toEqual(expect.any(Number));
    await fresh.saveCreds();
    const preKey = { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) };
    const appKey = {
      keyData: Buffer.alloc(32, 3),
      fingerprint: { rawId: 7, currentIndex: 1, deviceIndexes: [0, 1] },
      timestamp: 1700000000,
    };
    await fresh.state.keys.set({
      'pre-key': { '1': preKey, '2': preKey },
      session: { 'a.0': Buffer.from('signal-session') },
      'app-state-sync-key': { AAAA: appKey },
    });
    await fresh.state.keys.set({ 'pre-key': { '2': null } });

    const again = await loadDbAuthState(deps, id);
    expect(again.state.creds.noiseKey.private).toEqual(fresh.state.creds.noiseKey.private);
    expect(Buffer.isBuffer(again.state.creds.signedIdentityKey.public)).toBe(true);
    const pre = await again.state.keys.get('pre-key', ['1', '2', '3']);
    expect(Object.keys(pre)).toEqual(['1']);
    expect(Buffer.from(pre['1']!.private)).toEqual(preKey.private);
    expect(Buffer.from((await again.state.keys.get('session', ['a.0']))['a.0']!).toString()).toBe('signal-session');
    const app = (await again.state.keys.get('app-state-sync-key', ['AAAA'])).AAAA!;
    expect(app).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect(Buffer.from(app.keyData!)).toEqual(appKey.keyData);

    // Nothing readable at rest: no key material in any stored value.
    const stored = [
      ...(await db.store.db.selectFrom('wa_auth_keys').select('value').where('session_id', '=', id).execute()).map(
        (r) => r.value,
      ),
      ...(await db.store.db.selectFrom('wa_auth_creds').select('creds').where('session_id', '=', id).execute()).map(
        (r) => r.creds,
      ),
    ].join('\n');
    for (const secret of [preKey.private, appKey.keyData, Buffer.from(fresh.state.creds.noiseKey.private)]) {
      expect(stored).not.toContain(secret.toString('base64'));
    }
    expect(stored).not.toContain('signal-session');
    await t.close();
  });

  it('survives a restart: a running session comes back by itself with the same credentials; a stopped one stays stopped', async () => {
    const wa1 = new FakeWhatsApp();
    const t1 = await server(wa1);
    const { accountId, auth } = await t1.newAccount();
    for (const name of ['resumes', 'stays-off']) {
      await t1.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name, start: true } });
      await eventually(
        () => wa1.of(name).length > 0 && !wa1.latest(name).ended && wa1.latest(name),
        `${name}'s socket`,
      );
      const sock = wa1.latest(name);
      await eventually(
        async () => (await t1.app.inject({ url: `/api/${name}/pair/qr`, headers: auth })).json().event === 'qr',
        'a QR',
      );
      sock.pair();
      // Baileys writes signal keys through the store it was given.
      await sock.auth.keys.set({ session: { [`${name}.0`]: Buffer.from(`${name}-session`) } });
    }
    await eventually(
      async () =>
        (await t1.app.inject({ url: '/api/sessions/resumes', headers: auth })).json().data.status === 'CONNECTED',
      'connected',
    );
    await t1.app.inject({ method: 'POST', url: '/api/sessions/stays-off/stop', headers: auth });
    await t1.close();
    expect(wa1.live()).toHaveLength(0);
    expect(wa1.sockets.every((s) => !s.loggedOut)).toBe(true);
    const afterShutdown = await db.store.db
      .selectFrom('sessions')
      .select(['name', 'status', 'status_reason'])
      .where('account_id', '=', accountId)
      .orderBy('name')
      .execute();
    expect(afterShutdown).toEqual([
      { name: 'resumes', status: 'CONNECTING', status_reason: 'AUTO_RECONNECT' },
      { name: 'stays-off', status: 'DISCONNECTED', status_reason: 'MANUAL_STOP' },
    ]);

    const wa2 = new FakeWhatsApp();
    const t2 = await server(wa2);
    const sock = await eventually(() => wa2.of('resumes')[0], 'the resumed socket');
    expect(sock.auth.creds.me?.id).toBe(ACCOUNT.id);
    expect(sock.auth.creds.noiseKey.private).toEqual(wa1.latest('resumes').auth.creds.noiseKey.private);
    expect(Buffer.from((await sock.auth.keys.get('session', ['resumes.0']))['resumes.0']!).toString()).toBe(
      'resumes-session',
    );
    await eventually(
      async () =>
        (await t2.app.inject({ url: '/api/sessions/resumes', headers: auth })).json().data.status === 'CONNECTED',
      'connected again',
    );
    expect(wa2.of('stays-off')).toHaveLength(0);
    expect(wa2.of('resumes')).toHaveLength(1);
    await t2.close();
  });
});
