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
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  /** Samples the lease's live owner every 20 ms for `ms`. */
  async function ownersOver(id: string, ms: number) {
    const seen = new Set<string | null>();
    for (const end = Date.now() + ms; Date.now() < end; await pause(20)) {
      seen.add(await liveOwner(db.store.db, id, new Date().toISOString()));
    }
    return seen;
  }

  it('keeps renewing the lease of a session whose start outlasts the lease', async () => {
    await addSession('slow', 'stopped');
    const p = keeper(db.store);
    await p.k.start();
    // Starting (not yet among the running ones) for longer than a lease.
    const claimed = p.k.claim('slow', async () => {
      await pause(LEASE_MS * 1.5);
      p.running.add('slow');
    });
    await pause(20);
    expect(await ownersOver('slow', LEASE_MS * 1.5)).toEqual(new Set([p.owner]));
    expect(await claimed).toBe(true);
    expect(await ownersOver('slow', LEASE_MS / 2)).toEqual(new Set([p.owner]));
    expect(p.lost).toEqual([]);
  });

  it('renews the running sessions while claimed ones are slow to start', async () => {
    await addSession('held', 'stopped');
    const p = keeper(db.store, async (s) => {
      await pause(LEASE_MS * 1.5);
      p.running.add(s.id);
    });
    expect(await p.k.claim('held', () => void p.running.add('held'))).toBe(true);
    await addSession('orphan', 'running');
    void p.k.start();
    expect(await ownersOver('held', LEASE_MS * 1.5)).toEqual(new Set([p.owner]));
    expect(await ownersOver('orphan', LEASE_MS / 2)).toEqual(new Set([p.owner]));
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
    let started!: () => void;
    const late = p.k.claim('late', () => new Promise<void>((r) => (started = r)));
    await pause(RENEW_MS * 2);
    const cutAt = Date.now();
    await store.close();
    // Stopped one renewal before its lease (renewed at most RENEW_MS before the cut) lapses; with slack for a busy machine.
    await expect.poll(() => p.lost, { timeout: LEASE_MS * 3, interval: 5 }).toEqual(['early']);
    expect(Date.now() - cutAt).toBeLessThan(LEASE_MS * 2);
    // The other start completes only now, on a lease nobody can renew: it is stopped too.
    p.running.add('late');
    started();
    expect(await late).toBe(true);
    await expect.poll(() => p.lost, { timeout: LEASE_MS * 3, interval: 5 }).toEqual(['early', 'late']);
    expect(p.running.size).toBe(0);
  });
});
