import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { Store } from '../../src/store/db.js';
import { liveOwner } from '../../src/store/repositories/session-leases.js';
import { createLeaseKeeper, type LeaseKeeper, type OrphanedSession } from '../../src/whatsapp/lease-keeper.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';

// Long enough that a stalled test machine does not lapse a lease that is being renewed.
const LEASE_MS = 1000;
const RENEW_MS = 150;

/** A start that lasts until the test ends it. */
function pendingStart() {
  let end!: () => void;
  const started = new Promise<void>((r) => (end = r));
  return { started, end: () => end() };
}

// The keeper of one "process", against a real database; `running` stands for its session runners.
describe.each(DIALECTS)('session lease keeper (%s)', (dialect) => {
  let db: TestDb;
  const keepers: LeaseKeeper[] = [];
  const stores: Store[] = [];

  beforeAll(async () => {
    db = await createTestDb(dialect);
    await db.store.db
      .insertInto('accounts')
      .values({ id: 'acc', name: 'a', created_at: new Date().toISOString() })
      .execute();
  });
  afterEach(async () => {
    for (const k of keepers.splice(0)) await k.stop();
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await db.store.db.deleteFrom('session_leases').execute();
    await db.store.db.deleteFrom('sessions').execute();
  });
  afterAll(() => db.destroy());

  async function addSession(id: string, desired: 'running' | 'stopped') {
    const at = new Date().toISOString();
    await db.store.db
      .insertInto('sessions')
      .values({
        id,
        account_id: 'acc',
        name: id,
        status: 'DISCONNECTED',
        status_reason: null,
        phone_number: null,
        push_name: null,
        business_name: null,
        platform: null,
        lid: null,
        proxy: null,
        config: null,
        desired_state: desired,
        qr: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
  }

  function keeper(store: Store, onClaimed: (s: OrphanedSession) => Promise<void> = async () => undefined) {
    const running = new Set<string>();
    const lost: string[] = [];
    const k = createLeaseKeeper({
      db: store.db,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      ownerId: `owner-${keepers.length}`,
      leaseMs: LEASE_MS,
      renewMs: RENEW_MS,
      held: () => [...running],
      onClaimed,
      onLost: (id) => {
        running.delete(id);
        lost.push(id);
      },
    });
    keepers.push(k);
    return { k, running, lost, owner: `owner-${keepers.length - 1}` };
  }

  const owner = (id: string) => liveOwner(db.store.db, id, new Date().toISOString());
  const expiry = async (id: string) => {
    const row = await db.store.db
      .selectFrom('session_leases')
      .select('expires_at')
      .where('session_id', '=', id)
      .executeTakeFirst();
    return row ? Date.parse(row.expires_at) : 0;
  };

  /** Samples the lease's live owner (every 20 ms) until `done` holds; answers every owner seen. */
  async function ownersUntil(id: string, done: () => boolean | Promise<boolean>) {
    const seen = new Set<string | null>();
    await expect
      .poll(
        async () => {
          seen.add(await owner(id));
          return done();
        },
        { timeout: LEASE_MS * 4, interval: 20 },
      )
      .toBe(true);
    return seen;
  }
  /** Renewed after `t`: a lease renewed then runs out a lease later. */
  const renewedSince = (id: string, t: number) => async () => (await expiry(id)) > t + LEASE_MS;

  it('keeps renewing the lease of a session whose start outlasts the lease', async () => {
    await addSession('slow', 'stopped');
    const p = keeper(db.store);
    await p.k.start();
    // Starting (not yet among the running ones) for longer than a lease.
    const start = pendingStart();
    const claimedAt = Date.now();
    const claimed = p.k.claim('slow', () => start.started);
    await expect.poll(() => owner('slow')).toBe(p.owner);
    // The lease it was claimed with must run out while it starts: that wait is the point.
    expect(await ownersUntil('slow', () => Date.now() > claimedAt + LEASE_MS * 1.5)).toEqual(new Set([p.owner]));
    p.running.add('slow');
    start.end();
    expect(await claimed).toBe(true);
    // Running now: renewed on as one of the running ones.
    const startedAt = Date.now();
    expect(await ownersUntil('slow', renewedSince('slow', startedAt))).toEqual(new Set([p.owner]));
    expect(p.lost).toEqual([]);
  });

  it('renews the running sessions while claimed ones are slow to start', async () => {
    await addSession('held', 'stopped');
    let stalledAt = 0;
    const start = pendingStart();
    const p = keeper(db.store, () => {
      stalledAt = Date.now();
      return start.started;
    });
    expect(await p.k.claim('held', () => void p.running.add('held'))).toBe(true);
    await addSession('orphan', 'running');
    void p.k.start();
    await expect.poll(() => stalledAt).toBeGreaterThan(0);
    // Rounds after the stall began renewed the running session: renewal does not wait for claims.
    expect(await ownersUntil('held', renewedSince('held', stalledAt + RENEW_MS))).toEqual(new Set([p.owner]));
    p.running.add('orphan');
    start.end();
    const startedAt = Date.now();
    expect(await ownersUntil('orphan', renewedSince('orphan', startedAt))).toEqual(new Set([p.owner]));
    expect([...p.running].sort()).toEqual(['held', 'orphan']);
    expect(p.lost).toEqual([]);
  });

  it('without its database, stops each session before its lease lapses, including one that finished starting late', async () => {
    await addSession('early', 'stopped');
    await addSession('late', 'stopped');
    const store = db.reopen();
    stores.push(store);
    const p = keeper(store);
    await p.k.start();
    expect(await p.k.claim('early', () => void p.running.add('early'))).toBe(true);
    const start = pendingStart();
    const late = p.k.claim('late', () => start.started);
    await expect.poll(() => owner('late')).toBe(p.owner);
    // A round renewed both (the one still starting too) before the database goes.
    const claimedAt = Date.now();
    await expect.poll(renewedSince('early', claimedAt), { timeout: LEASE_MS }).toBe(true);
    await expect.poll(renewedSince('late', claimedAt), { timeout: LEASE_MS }).toBe(true);
    const cutAt = Date.now();
    await store.close();
    // Stopped one renewal before its lease (renewed at most RENEW_MS before the cut) lapses; with slack for a busy machine.
    await expect.poll(() => p.lost, { timeout: LEASE_MS * 3, interval: 5 }).toEqual(['early']);
    expect(Date.now() - cutAt).toBeLessThan(LEASE_MS * 2);
    // The other start completes only now, on a lease nobody can renew: it is stopped too.
    p.running.add('late');
    start.end();
    expect(await late).toBe(true);
    await expect.poll(() => p.lost, { timeout: LEASE_MS * 3, interval: 5 }).toEqual(['early', 'late']);
    expect(p.running.size).toBe(0);
  });
});
