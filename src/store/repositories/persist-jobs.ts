import type { Updateable } from 'kysely';
import type { DbOrTrx, Store } from '../db.js';
import type { PersistJobTable } from '../schema.js';

/** Queues a job unless one exists for the media; returns whether it was added. */
export async function insertPersistJobIfAbsent(db: DbOrTrx, row: PersistJobTable): Promise<boolean> {
  const r = await db.insertInto('persist_jobs').values(row).onConflict((oc) => oc.column('media_id').doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Claims due jobs with a lease (see claimDueDeliveries for why this is safe on both dialects). */
export function claimDueJobs(store: Store, o: { owner: string; now: string; leaseUntil: string; limit: number }) {
  const db = store.db;
  let due = db
    .selectFrom('persist_jobs')
    .select('id')
    .where('state', '=', 'pending')
    .where('next_run_at', '<=', o.now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .orderBy('next_run_at')
    .limit(o.limit);
  if (store.dialect === 'postgres') due = due.forUpdate().skipLocked();
  return db
    .updateTable('persist_jobs')
    .set((eb) => ({ lease_owner: o.owner, lease_expires_at: o.leaseUntil, claims: eb('claims', '+', 1) }))
    .where('id', 'in', due)
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .returningAll()
    .execute();
}

/** Extends a running job's lease; false when another process holds it now. */
export async function renewJobLease(db: DbOrTrx, id: string, owner: string, until: string): Promise<boolean> {
  const r = await db.updateTable('persist_jobs').set({ lease_expires_at: until }).where('id', '=', id).where('lease_owner', '=', owner).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Updates a job this process holds the lease on (the lease is dropped with it). */
export async function updateLeasedJob(db: DbOrTrx, id: string, owner: string, patch: Updateable<PersistJobTable>): Promise<boolean> {
  const r = await db
    .updateTable('persist_jobs')
    .set({ ...patch, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Ends the pending job of a media (whoever holds it); returns the job when there was one. */
export async function finishPendingJob(db: DbOrTrx, mediaId: string, patch: (job: PersistJobTable) => Updateable<PersistJobTable>) {
  const job = await db.selectFrom('persist_jobs').selectAll().where('media_id', '=', mediaId).where('state', '=', 'pending').executeTakeFirst();
  if (!job) return null;
  const r = await db
    .updateTable('persist_jobs')
    .set({ ...patch(job), lease_owner: null, lease_expires_at: null })
    .where('id', '=', job.id)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0 ? job : null;
}

/** Deletes ended jobs last touched before `before`. */
export function pruneJobs(db: DbOrTrx, before: string) {
  return db.deleteFrom('persist_jobs').where('state', 'in', ['done', 'failed']).where('updated_at', '<', before).execute();
}
