import type { DbOrTrx } from '../db.js';

/**
 * Takes the named sweep for `owner` until `until`, unless another process holds an unexpired
 * claim: one process sweeps at a time, and a dead one's claim lapses.
 */
export async function claimSweep(
  db: DbOrTrx,
  name: string,
  owner: string,
  now: string,
  until: string,
): Promise<boolean> {
  await db
    .insertInto('sweep_claims')
    .values({ name, owner: null, expires_at: null, last_run_at: null })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const r = await db
    .updateTable('sweep_claims')
    .set({ owner, expires_at: until })
    .where('name', '=', name)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '<', now), eb('owner', '=', owner)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Lets the claim go (another process may sweep next) and records the run. */
export function releaseSweep(db: DbOrTrx, name: string, owner: string, now: string) {
  return db
    .updateTable('sweep_claims')
    .set({ expires_at: null, last_run_at: now })
    .where('name', '=', name)
    .where('owner', '=', owner)
    .execute();
}
