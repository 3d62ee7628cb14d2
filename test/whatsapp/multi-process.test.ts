import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { eventually, FAST_LEASES, FAST_SESSIONS, FakeWhatsApp, waMessage } from '../support/fake-whatsapp.js';
import { plaintextOf, publishMedia, sha256 } from '../support/media.js';

// Two server processes (two apps, each with its own connection pool) on one PostgreSQL schema.
describe.runIf(DIALECTS.includes('postgres'))('several server processes on one PostgreSQL', () => {
  let db: TestDb;
  let cdn: FakeCdn;
  const apps: TestApp[] = [];
  let auth: { authorization: string };

  beforeAll(async () => {
    db = await createTestDb('postgres');
    cdn = await startFakeCdn();
  });
  // A failed test must not leave its processes running: they would claim the next test's sessions.
  afterEach(async () => {
    for (const a of apps.splice(0).reverse()) await a.close().catch(() => undefined);
  });
  afterAll(async () => {
    await db.destroy();
    await cdn.close();
  });

  async function processOn(wa: FakeWhatsApp, store?: Store, leases: Record<string, string> = FAST_LEASES) {
    const env = {
      ...FAST_SESSIONS,
      ...leases,
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      MEDIA_CDN_BASE_URL: cdn.origin,
    };
    const t = await buildTestApp('postgres', env, undefined, {
      shared: db,
      deps: { socketFactory: wa.factory },
      ...(store ? { store } : {}),
    });
    apps.push(t);
    return t;
  }
  const status = async (t: TestApp, name: string) => {
    const s = (await t.app.inject({ url: `/api/sessions/${name}`, headers: auth })).json().data;
    return `${s.status}/${s.statusReason}`;
  };
  const sockets = (name: string, ...was: FakeWhatsApp[]) => was.flatMap((w) => w.of(name));
  /**
   * Waits until every lease held was renewed more than `rounds` lease rounds from now: the
   * processes ran those rounds (a process's first round ends before its app is ready). What a
   * test checks after it is that the rounds changed nothing, so a wait is inherent; this one
   * ends on the renewals themselves.
   */
  async function leaseRounds(t: TestApp, rounds: number): Promise<void> {
    const { leaseMs, leaseRenewMs } = t.config.whatsapp;
    const after = Date.now() + rounds * leaseRenewMs + leaseMs;
    await eventually(async () => {
      const leases = await db.store.db.selectFrom('session_leases').select('expires_at').execute();
      return leases.length > 0 && leases.every((l) => Date.parse(l.expires_at) > after);
    }, `${rounds} lease rounds`);
  }

  it('runs each session in exactly one process, and routes requests to it from the other', async () => {
    const waA = new FakeWhatsApp();
    const waB = new FakeWhatsApp();
    // Leases long enough that a stalled test machine cannot make one lapse; lapses are the next test's.
    const steady = { SESSION_LEASE_MS: '3000', SESSION_LEASE_RENEW_MS: '150' };
    const a = await processOn(waA, undefined, steady);
    const b = await processOn(waB, undefined, steady);
    auth = (await a.newAccount()).auth;
    const names = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
    // Started through both processes at once, some twice.
    await Promise.all(
      names.flatMap((name, i) => [
        (i % 2 ? a : b).app.inject({
          method: 'POST',
          url: '/api/sessions',
          headers: auth,
          payload: { name, start: true },
        }),
      ]),
    );
    await Promise.all(
      names.flatMap((name) =>
        [a, b].map((t) => t.app.inject({ method: 'POST', url: `/api/sessions/${name}/start`, headers: auth })),
      ),
    );
    for (const name of names)
      await eventually(async () => (await status(a, name)) === 'CONNECTING/SCAN_QR', `${name} to show a QR`);
    // Several lease rounds later, still one socket per session, none ended.
    await leaseRounds(a, 3);
    for (const name of names) {
      expect(sockets(name, waA, waB), name).toHaveLength(1);
      expect(sockets(name, waA, waB)[0]!.ended).toBe(false);
    }
    const owners = await db.store.db.selectFrom('session_leases').select('owner_id').distinct().execute();
    expect(owners.length).toBeGreaterThanOrEqual(1);

    // m1 runs in one process; ask the other one for a pairing code, then to stop it.
    const runsInA = waA.of('m1').length === 1;
    const [owner, other] = runsInA ? [waA, b] : [waB, a];
    const code = await other.app.inject({
      method: 'POST',
      url: '/api/sessions/m1/pair/code',
      headers: auth,
      payload: { phoneNumber: '4917012345678' },
    });
    expect(code.statusCode).toBe(200);
    expect(code.json().data.code).toBe('FAKE1234');
    expect(owner.latest('m1').pairingPhone).toBe('4917012345678');
    owner.latest('m1').pair();
    await eventually(async () => (await status(a, 'm1')) === 'CONNECTED/null', 'm1 connected');

    // An expired media of m1, downloaded through the process that does not run m1.
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(2000) });
    owner.latest('m1').upsert([waMessage(p.message)]);
    const id = (p.message.key as { id: string }).id;
    const row = await eventually(
      () => db.store.db.selectFrom('media').select('id').where('message_id', '=', id).executeTakeFirst(),
      'the media',
    );
    cdn.misbehave(p.path, { status: 404 });
    owner.phone = {
      async reupload(msg) {
        cdn.put('/v/t62/again.enc', p.encrypted);
        Object.assign(msg.message!.imageMessage!, { directPath: '/v/t62/again.enc' });
        return msg;
      },
    };
    const dl = await other.app.inject({
      method: 'POST',
      url: `/api/sessions/m1/media/${row.id}/download`,
      headers: auth,
    });
    expect(dl.statusCode).toBe(200);
    expect(sha256(dl.rawPayload)).toBe(sha256(p.plaintext));

    const stop = await other.app.inject({ method: 'POST', url: '/api/sessions/m1/stop', headers: auth });
    expect(stop.statusCode).toBe(200);
    expect(stop.json().data).toMatchObject({ status: 'DISCONNECTED', statusReason: 'MANUAL_STOP' });
    expect(owner.latest('m1').ended).toBe(true);
    expect(owner.latest('m1').loggedOut).toBe(false);
    // Its lease is given back and it should not run: the rounds that follow leave it stopped.
    await leaseRounds(a, 2);
    expect(sockets('m1', waA, waB).filter((s) => !s.ended)).toHaveLength(0);

    // A graceful shutdown hands the sessions over: the other process resumes them.
    const [closing, staying, stayingWa] = runsInA ? [a, b, waB] : [b, a, waA];
    await closing.close();
    apps.splice(apps.indexOf(closing), 1);
    for (const name of names.slice(1)) await eventually(() => stayingWa.live(name).length === 1, `${name} resumed`);
    for (const name of names.slice(1)) expect(sockets(name, waA, waB).filter((s) => !s.ended)).toHaveLength(1);
    expect(await status(staying, 'm1')).toBe('DISCONNECTED/MANUAL_STOP');
    await staying.close();
    apps.splice(apps.indexOf(staying), 1);
  });

  it('a process that can no longer renew its leases stops its sessions, and another takes them over', async () => {
    const waA = new FakeWhatsApp();
    const waB = new FakeWhatsApp();
    const storeA = db.reopen();
    let cut: Promise<void> | null = null;
    const killable: Store = { ...storeA, close: () => (cut ??= storeA.close()) };
    const a = await processOn(waA, killable);
    auth = (await a.newAccount()).auth;
    await a.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'takeover', start: true },
    });
    const first = await eventually(() => waA.of('takeover')[0], 'a socket in A');
    await eventually(async () => (await status(a, 'takeover')) === 'CONNECTING/SCAN_QR', 'a QR');
    first.pair();
    await eventually(async () => (await status(a, 'takeover')) === 'CONNECTED/null', 'connected in A');
    const b = await processOn(waB);
    await leaseRounds(b, 2);
    expect(waB.of('takeover')).toHaveLength(0);

    // A loses its database (as a process cut off, or dead, would): it cannot renew.
    const cutAt = Date.now();
    await killable.close();
    const second = await eventually(() => waB.of('takeover')[0], 'B to take the session over', 5000);
    // Bounded: within a lease (600 ms) plus a round or two (150 ms each), with slack for CI.
    expect(second.createdAt - cutAt).toBeLessThan(2500);
    // Never both at once: A stopped its socket before B opened one.
    expect(first.ended).toBe(true);
    expect(first.endedAt!).toBeLessThanOrEqual(second.createdAt);
    expect(first.loggedOut).toBe(false);
    await eventually(
      async () => (await status(b, 'takeover')) === 'CONNECTED/null',
      'connected in B with the stored credentials',
    );
    expect(second.auth.creds.me?.id).toBe(first.auth.creds.me?.id);
  });
});
