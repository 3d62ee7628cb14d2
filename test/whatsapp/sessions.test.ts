import { DisconnectReason } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionStatusChange, SessionStatusListener } from '../../src/sessions/session-events.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ACCOUNT, eventually, FAST_SESSIONS, FakeWhatsApp } from '../support/fake-whatsapp.js';

describe.each(DIALECTS)('WhatsApp sessions: lifecycle, statuses, pairing (%s)', (dialect) => {
  let t: TestApp;
  let wa: FakeWhatsApp;
  let auth: { authorization: string };
  const changes: SessionStatusChange[] = [];
  let n = 0;

  // The database is slow as the session named `late` records its end: the status write holds the
  // lease row (PostgreSQL) or the one writer (SQLite) until the host stopped the session here
  // because its lease renewal was late.
  const fenced = () =>
    t.logs.lines.some((l) => l.msg === 'lost the lease of a session: stopped it here' && l.session === 'late');
  const slowEnd: SessionStatusListener = async (trx, c) => {
    if (c.session.name !== 'late' || c.status !== 'DISCONNECTED') return;
    if (dialect === 'postgres')
      await trx
        .selectFrom('session_leases')
        .select('session_id')
        .where('session_id', '=', c.session.id)
        .forUpdate()
        .execute();
    await eventually(fenced, 'the lease renewal to be late');
  };

  beforeAll(async () => {
    wa = new FakeWhatsApp();
    t = await buildTestApp(dialect, FAST_SESSIONS, undefined, {
      deps: { socketFactory: wa.factory, statusListeners: [async (_trx, c) => void changes.push(c), slowEnd] },
    });
    auth = (await t.newAccount()).auth;
  });
  afterAll(() => t.close());

  const api = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url: `/api${url}`, headers: auth, ...(payload ? { payload } : {}) });
  const session = async (name: string) =>
    (await api('GET', `/sessions/${name}`)).json<{
      data: { status: string; statusReason: string | null } & Record<string, unknown>;
    }>().data;
  const statusOf = async (name: string) => {
    const s = await session(name);
    return `${s.status}/${s.statusReason}`;
  };
  const until = async (name: string, status: string) => {
    let last = '';
    // The last status seen goes into the failure, so a wrong end state reads differently from a slow one.
    await eventually(async () => (last = await statusOf(name)) === status, `${name} to be ${status}`, 15_000).catch(
      (err: Error) => {
        throw new Error(`${err.message} (last seen: ${last})`);
      },
    );
  };
  const leaseRows = async (name: string) => {
    const row = await t.db.store.db
      .selectFrom('sessions')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return (
      await t.db.store.db.selectFrom('session_leases').select('session_id').where('session_id', '=', row.id).execute()
    ).length;
  };
  const credsRows = async (name: string) => {
    const row = await t.db.store.db
      .selectFrom('sessions')
      .select('id')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return (
      await t.db.store.db.selectFrom('wa_auth_creds').select('session_id').where('session_id', '=', row.id).execute()
    ).length;
  };

  /** A new session, started and paired: CONNECTED. */
  async function connected(): Promise<string> {
    const name = `s${++n}`;
    expect((await api('POST', '/sessions', { name, start: true })).statusCode).toBe(201);
    await until(name, 'CONNECTING/SCAN_QR');
    wa.latest(name).pair();
    await until(name, 'CONNECTED/null');
    return name;
  }

  it('start: true shows a QR (Titan bare answer, also as PNG); scanning it fills the account fields', async () => {
    const created = await api('POST', '/sessions', { name: 'shop', start: true });
    expect(created.statusCode).toBe(201);
    expect(created.json().data.status).toBe('CONNECTING');
    await until('shop', 'CONNECTING/SCAN_QR');
    const qr = wa.latest('shop').showQr('2@the-qr-to-scan');
    await eventually(async () => (await api('GET', '/shop/pair/qr')).json().qr === qr, 'the new QR');
    for (const url of ['/shop/pair/qr', '/sessions/shop/pair/qr']) {
      const res = await api('GET', url);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ qr, event: 'qr' });
    }
    const png = await api('GET', '/shop/pair/qr?format=image');
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');

    wa.latest('shop').pair();
    await until('shop', 'CONNECTED/null');
    expect(await session('shop')).toMatchObject({
      phoneNumber: '4917012345678',
      pushName: ACCOUNT.name,
      businessName: ACCOUNT.verifiedName,
      platform: 'smba',
      lid: '123456789012345@lid',
    });
    expect((await api('GET', '/shop/pair/qr')).json()).toEqual({ qr: null, event: 'connected' });
    const noImage = await api('GET', '/shop/pair/qr?format=image');
    expect(noImage.statusCode).toBe(409);
    expect(noImage.json().code).toBe('QR_NOT_AVAILABLE');
    // Each change reached the listeners once, with the status it replaced.
    const mine = changes
      .filter((c) => c.session.name === 'shop')
      .map((c) => `${c.previousStatus}→${c.status}/${c.statusReason}`);
    expect(mine).toEqual([
      'DISCONNECTED→CONNECTING/null',
      'CONNECTING→CONNECTING/SCAN_QR',
      'CONNECTING→CONNECTED/null',
    ]);
  });

  it.each([
    ['loggedOut', DisconnectReason.loggedOut, 'DISCONNECTED/LOGGED_OUT'],
    ['temporarily banned (402)', 402, 'DISCONNECTED/TEMPORARY_BAN'],
    ['forbidden', DisconnectReason.forbidden, 'DISCONNECTED/FAILED'],
    ['client outdated (405)', 405, 'DISCONNECTED/FAILED'],
    ['banned (406)', 406, 'DISCONNECTED/FAILED'],
    ['multideviceMismatch', DisconnectReason.multideviceMismatch, 'DISCONNECTED/FAILED'],
    ['connectionReplaced', DisconnectReason.connectionReplaced, 'DISCONNECTED/STREAM_ERROR'],
  ])('%s → %s, and it stays stopped', async (_name, code: number, expected) => {
    const loggedOut = code === 401;
    const name = await connected();
    const sockets = wa.of(name).length;
    wa.latest(name).close(code);
    await until(name, expected);
    // The runner ended for good once it gave its lease back: no reconnect can follow.
    await expect.poll(() => leaseRows(name), { timeout: 5000 }).toBe(0);
    expect(wa.of(name)).toHaveLength(sockets);
    expect(await session(name)).toMatchObject({ status: 'DISCONNECTED' });
    // Only a logout wipes the credentials.
    expect(await credsRows(name)).toBe(loggedOut ? 0 : 1);
    if (loggedOut) expect(await session(name)).toMatchObject({ phoneNumber: null, pushName: null, lid: null });
  });

  it('a session that ends by itself while its lease renewal is late still gives the lease back', async () => {
    const name = 'late';
    expect((await api('POST', '/sessions', { name, start: true })).statusCode).toBe(201);
    await until(name, 'CONNECTING/SCAN_QR');
    wa.latest(name).pair();
    await until(name, 'CONNECTED/null');
    const sockets = wa.of(name).length;
    wa.latest(name).close(DisconnectReason.loggedOut);
    await until(name, 'DISCONNECTED/LOGGED_OUT');
    expect(fenced()).toBe(true);
    await expect.poll(() => leaseRows(name), { timeout: 5000 }).toBe(0);
    expect(wa.of(name)).toHaveLength(sockets);
  });

  it.each([
    ['connectionClosed', DisconnectReason.connectionClosed],
    ['connectionLost / timedOut', DisconnectReason.connectionLost],
    ['badSession', DisconnectReason.badSession],
    ['restartRequired', DisconnectReason.restartRequired],
    ['unavailableService', DisconnectReason.unavailableService],
    ['a network error (no code)', undefined],
  ])('%s → CONNECTING/AUTO_RECONNECT, then connected again on a new socket', async (_name, code) => {
    const name = await connected();
    const first = wa.latest(name);
    wa.autoConnect = false;
    first.close(code);
    // The status is recorded asynchronously (on PostgreSQL a read right after the close can
    // still see CONNECTED); it stays there until the new socket opens.
    await until(name, 'CONNECTING/AUTO_RECONNECT');
    const second = await eventually(() => wa.of(name).length === 2 && wa.latest(name), 'a reconnect');
    wa.autoConnect = true;
    expect(await statusOf(name)).toBe('CONNECTING/AUTO_RECONNECT');
    second.open();
    await until(name, 'CONNECTED/null');
  });

  it('pairing as WhatsApp does it (credentials, then restartRequired): the next socket logs in with them', async () => {
    expect((await api('POST', '/sessions', { name: 'paired-515', start: true })).statusCode).toBe(201);
    await until('paired-515', 'CONNECTING/SCAN_QR');
    wa.latest('paired-515').pairAndRestart();
    await until('paired-515', 'CONNECTED/null');
    expect(wa.of('paired-515')).toHaveLength(2);
    expect(wa.latest('paired-515').auth.creds.me?.id).toBe(ACCOUNT.id);
    expect((await session('paired-515')).phoneNumber).toBe('4917012345678');
  });

  it('a QR nobody scans expires: DISCONNECTED/QR_TIMEOUT (Baileys closes with 408)', async () => {
    expect((await api('POST', '/sessions', { name: 'qr-expiry', start: true })).statusCode).toBe(201);
    await until('qr-expiry', 'CONNECTING/SCAN_QR');
    wa.latest('qr-expiry').close(DisconnectReason.timedOut, 'QR refs attempts ended');
    await until('qr-expiry', 'DISCONNECTED/QR_TIMEOUT');
    expect((await api('GET', '/sessions/qr-expiry/pair/qr')).json()).toEqual({ qr: null, event: 'disconnected' });
  });

  it('stop closes the socket without logging out; start reconnects with the same credentials', async () => {
    const name = await connected();
    const res = await api('POST', `/sessions/${name}/stop`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      status: 'DISCONNECTED',
      statusReason: 'MANUAL_STOP',
      phoneNumber: '4917012345678',
    });
    const sock = wa.latest(name);
    expect(sock.ended).toBe(true);
    expect(sock.loggedOut).toBe(false);
    expect(await credsRows(name)).toBe(1);
    // Idempotent.
    expect((await api('POST', `/sessions/${name}/stop`)).json().data.statusReason).toBe('MANUAL_STOP');
    expect((await api('POST', `/sessions/${name}/start`)).statusCode).toBe(200);
    await until(name, 'CONNECTED/null');
    expect(wa.latest(name).auth.creds.me?.id).toBe(ACCOUNT.id);
  });

  it('restart replaces the socket and comes back connected', async () => {
    const name = await connected();
    const before = wa.latest(name);
    expect((await api('POST', `/sessions/${name}/restart`)).statusCode).toBe(200);
    expect(before.ended).toBe(true);
    expect(before.loggedOut).toBe(false);
    await until(name, 'CONNECTED/null');
    expect(wa.latest(name)).not.toBe(before);
  });

  it('logout unlinks the device and wipes the credentials', async () => {
    const name = await connected();
    const res = await api('POST', `/sessions/${name}/logout`);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({
      status: 'DISCONNECTED',
      statusReason: 'LOGGED_OUT',
      phoneNumber: null,
      platform: null,
    });
    expect(wa.latest(name).loggedOut).toBe(true);
    expect(await credsRows(name)).toBe(0);
  });

  it('logout of a stopped, paired session connects just to unlink it', async () => {
    const name = await connected();
    await api('POST', `/sessions/${name}/stop`);
    const res = await api('POST', `/sessions/${name}/logout`);
    expect(res.json().data.statusReason).toBe('LOGGED_OUT');
    expect(wa.latest(name).loggedOut).toBe(true);
    expect(wa.live(name)).toHaveLength(0);
  });

  it('DELETE stops, logs out and removes the session', async () => {
    const name = await connected();
    expect((await api('DELETE', `/sessions/${name}`)).statusCode).toBe(204);
    expect(wa.latest(name).loggedOut).toBe(true);
    expect((await api('GET', `/sessions/${name}`)).statusCode).toBe(404);
    const rows = await t.db.store.db.selectFrom('wa_auth_creds').selectAll().execute();
    expect(rows.every((r) => !r.session_id.includes(name))).toBe(true);
  });

  it('pairing by phone code: starts the session and asks WhatsApp for the code', async () => {
    expect((await api('POST', '/sessions', { name: 'by-code' })).statusCode).toBe(201);
    const res = await api('POST', '/sessions/by-code/pair/code', { phoneNumber: '+49 170 1234567' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: { code: 'FAKE1234' } });
    expect(wa.latest('by-code').pairingPhone).toBe('491701234567');
    wa.latest('by-code').pair();
    await until('by-code', 'CONNECTED/null');
    const again = await api('POST', '/sessions/by-code/pair/code', { phoneNumber: '491701234567' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('SESSION_ALREADY_PAIRED');
    expect((await api('POST', '/sessions/by-code/pair/code', { phoneNumber: 'call me' })).statusCode).toBe(400);
  });

  it('lifecycle routes need sessions:manage, and another account sees 404', async () => {
    const name = await connected();
    const me = await api('GET', '/account');
    const reader = await t.newKey(me.json().data.id, ['sessions:read']);
    for (const url of [`/api/sessions/${name}/stop`, `/api/sessions/${name}/pair/code`]) {
      expect(
        (await t.app.inject({ method: 'POST', url, headers: reader.auth, payload: { phoneNumber: '491701234567' } }))
          .statusCode,
      ).toBe(403);
    }
    expect((await t.app.inject({ url: `/api/${name}/pair/qr`, headers: reader.auth })).statusCode).toBe(403);
    const other = await t.newAccount();
    for (const [method, url] of [
      ['POST', `/api/sessions/${name}/stop`],
      ['GET', `/api/${name}/pair/qr`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: other.auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('SESSION_NOT_FOUND');
    }
    expect(wa.latest(name).ended).toBe(false);
  });
});
