import type { Updateable } from 'kysely';
import type { DbOrTrx, Store } from '../db.js';
import type { PersistJobTable } from '../schema.js';

/** Queues a job unless one exists for the media; returns whether it was added. */
export async function insertPersistJobIfAbsent(db: DbOrTrx, row: PersistJobTable): Promise<boolean> {
  const r = await db
    .insertInto('persist_jobs')
    .values(row)
    .onConflict((oc) => oc.column('media_id').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Claims due jobs with a lease (see claimDueDeliveries for why this is safe on both dialects). */
export function claimDueJobs(
  store: Store,
  o: { owner: string; now: string; leaseUntil: string; limit: number; accountId?: string },
) {
  const db = store.db;
  let due = db
    .selectFrom('persist_jobs')
    .select('id')
    .where('state', '=', 'pending')
    .where('next_run_at', '<=', o.now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .orderBy('next_run_at')
    .limit(o.limit);
  if (o.accountId !== undefined) due = due.where('account_id', '=', o.accountId);
  if (store.dialect === 'postgres') due = due.forUpdate().skipLocked();
  // A materialized CTE: inlined into `IN (…)`, PostgreSQL may evaluate a LIMIT … SKIP LOCKED
  // subquery more than once and claim (and then strand) more rows than asked for.
  return db
    .with(
      (cte) => cte('due').materialized(),
      () => due,
    )
    .updateTable('persist_jobs')
    .set((eb) => ({ lease_owner: o.owner, lease_expires_at: o.leaseUntil, claims: eb('claims', '+', 1) }))
    .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .returningAll()
    .execute();
}

/** Accounts with due, unclaimed jobs, the longest-waiting first (the runner shares its workers among them). */
export async function dueJobAccounts(db: DbOrTrx, now: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('persist_jobs')
    .select(['account_id', (eb) => eb.fn.min('next_run_at').as('due')])
    .where('state', '=', 'pending')
    .where('next_run_at', '<=', now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .groupBy('account_id')
    .orderBy('due')
    .limit(limit)
    .execute();
  return rows.map((r) => r.account_id);
}

/** Extends a running job's lease; false when another process holds it now. */
export async function renewJobLease(db: DbOrTrx, id: string, owner: string, until: string): Promise<boolean> {
  const r = await db
    .updateTable('persist_jobs')
    .set({ lease_expires_at: until })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Updates a job this process holds the lease on (the lease is dropped with it). */
export async function updateLeasedJob(
  db: DbOrTrx,
  id: string,
  owner: string,
  patch: Updateable<PersistJobTable>,
): Promise<boolean> {
  const r = await db
    .updateTable('persist_jobs')
    .set({ ...patch, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Ends the pending job of a media (whoever holds it); returns the job when there was one. */
export async function finishPendingJob(
  db: DbOrTrx,
  mediaId: string,
  patch: (job: PersistJobTable) => Updateable<PersistJobTable>,
) {
  const job = await db
    .selectFrom('persist_jobs')
    .selectAll()
    .where('media_id', '=', mediaId)
    .where('state', '=', 'pending')
    .executeTakeFirst();
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
  return db
    .deleteFrom('persist_jobs')
    .where('state', 'in', ['done', 'failed'])
    .where('updated_at', '<', before)
    .execute();
}
