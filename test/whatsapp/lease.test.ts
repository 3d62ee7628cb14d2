import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimLease,
  findOrphanedSessions,
  liveOwner,
  releaseLease,
  renewLeases,
} from '../../src/store/repositories/session-leases.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe.each(DIALECTS)('session leases (%s)', (dialect) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb(dialect);
    const d = db.store.db;
    await d
      .insertInto('accounts')
      .values({ id: 'acc', name: 'a', created_at: at(0) })
      .execute();
    for (const id of ['s1', 's2']) {
      await d
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
          desired_state: 'running',
          qr: null,
          created_at: at(0),
          updated_at: at(0),
        })
        .execute();
    }
  });
  afterAll(() => db.destroy());

  it('one owner at a time: claimed by a conditional write, renewed by its owner only, taken over once expired', async () => {
    const d = db.store.db;
    expect((await findOrphanedSessions(d, at(0), 10)).map((s) => s.id).sort()).toEqual(['s1', 's2']);
    const [x, y] = await Promise.all([
      claimLease(d, 's1', 'A', at(0), at(30)),
      claimLease(d, 's1', 'B', at(0), at(30)),
    ]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    const winner = x ? 'A' : 'B';
    const loser = x ? 'B' : 'A';
    expect(await liveOwner(d, 's1', at(10))).toBe(winner);
    expect(await claimLease(d, 's1', loser, at(10), at(40))).toBe(false);
    expect(await claimLease(d, 's1', winner, at(10), at(40))).toBe(true);
    expect(await renewLeases(d, loser, ['s1'], at(50))).toEqual([]);
    expect(await renewLeases(d, winner, ['s1', 's2'], at(50))).toEqual(['s1']);
    expect((await findOrphanedSessions(d, at(20), 10)).map((s) => s.id)).toEqual(['s2']);
    // Not renewed past its expiry: another process may claim it, and the old owner learns it lost it.
    expect(await liveOwner(d, 's1', at(51))).toBeNull();
    expect((await findOrphanedSessions(d, at(51), 10)).map((s) => s.id).sort()).toEqual(['s1', 's2']);
    expect(await claimLease(d, 's1', loser, at(51), at(81))).toBe(true);
    expect(await renewLeases(d, winner, ['s1'], at(90))).toEqual([]);
    await releaseLease(d, 's1', winner);
    expect(await liveOwner(d, 's1', at(60))).toBe(loser);
    await releaseLease(d, 's1', loser);
    expect(await liveOwner(d, 's1', at(60))).toBeNull();
  });
});
