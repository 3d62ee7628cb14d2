import { newId } from '../../ids.js';
import type { DbOrTrx, Store } from '../db.js';

export interface ObjectToDelete {
  accountId: string;
  mediaId: string | null;
  bucket: string;
  key: string;
}

/** Queues bucket objects for the deletion worker (inside the caller's transaction). */
export async function queueObjectDeletions(
  db: DbOrTrx,
  objects: ObjectToDelete[],
  reason: 'delete' | 'retention' | 'session',
  now: string,
): Promise<void> {
  if (objects.length === 0) return;
  await db
    .insertInto('media_deletions')
    .values(
      objects.map((o) => ({
        id: newId('del_'),
        account_id: o.accountId,
        media_id: o.mediaId,
        bucket: o.bucket,
        key: o.key,
        reason,
        attempts: 0,
        next_run_at: now,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
        created_at: now,
      })),
    )
    .execute();
}

/** The stored objects of a session's media (what `?deleteMedia=true` removes). */
export function storedObjectsOfSession(db: DbOrTrx, accountId: string, sessionId: string) {
  return db
    .selectFrom('media')
    .select(['id', 's3_bucket', 's3_key'])
    .where('account_id', '=', accountId)
    .where('session_id', '=', sessionId)
    .where('s3_key', 'is not', null)
    .execute();
}

/** Claims due deletions with a lease (the claim pattern of claimDueJobs). */
export function claimDueDeletions(store: Store, o: { owner: string; now: string; leaseUntil: string; limit: number }) {
  const db = store.db;
  let due = db
    .selectFrom('media_deletions')
    .select('id')
    .where('next_run_at', '<=', o.now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .orderBy('next_run_at')
    .limit(o.limit);
  if (store.dialect === 'postgres') due = due.forUpdate().skipLocked();
  // A materialized CTE: inlined into `IN (…)`, PostgreSQL may evaluate a LIMIT … SKIP LOCKED
  // subquery more than once and claim (and then strand) more rows than asked for.
  return db
    .with(
      (cte) => cte('due').materialized(),
      () => due,
    )
    .updateTable('media_deletions')
    .set({ lease_owner: o.owner, lease_expires_at: o.leaseUntil })
    .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .returningAll()
    .execute();
}

/** The object is gone: the queue row goes, and the media record (if still there) says when. */
export async function deletionDone(db: DbOrTrx, id: string, mediaId: string | null, now: string): Promise<void> {
  await db.deleteFrom('media_deletions').where('id', '=', id).execute();
  if (mediaId) await db.updateTable('media').set({ object_deleted_at: now }).where('id', '=', mediaId).execute();
}

export function deletionFailed(
  db: DbOrTrx,
  id: string,
  owner: string,
  patch: { attempts: number; next_run_at: string; last_error: string },
) {
  return db
    .updateTable('media_deletions')
    .set({ ...patch, lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute();
}

export async function pendingDeletions(db: DbOrTrx): Promise<number> {
  const r = await db
    .selectFrom('media_deletions')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}
