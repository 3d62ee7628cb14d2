import type { DbOrTrx } from '../db.js';

/** Accounts that set persist-before-expiry or retention. */
export function lifecycleSettings(db: DbOrTrx) {
  return db
    .selectFrom('account_settings')
    .select(['account_id', 'persist_before_expiry', 'retention'])
    .where((eb) => eb.or([eb('persist_before_expiry', 'is not', null), eb('retention', 'is not', null)]))
    .orderBy('account_id')
    .execute();
}

/** Live, unpersisted media of an account whose CDN copy ends in (from, to], not yet queued. */
export function expiringUnpersisted(db: DbOrTrx, accountId: string, from: string, to: string, limit: number) {
  return db
    .selectFrom('media')
    .innerJoin('sessions', 'sessions.id', 'media.session_id')
    .select(['media.id as id', 'sessions.name as session'])
    .where('media.account_id', '=', accountId)
    .where('media.persisted_at', 'is', null)
    .where('media.deleted_at', 'is', null)
    .where('media.key_wiped_at', 'is', null)
    .where('media.expiry_queued_at', 'is', null)
    .where('media.object_deleted_at', 'is', null)
    .where('media.cdn_expires_at', '>', from)
    .where('media.cdn_expires_at', '<=', to)
    .orderBy('media.cdn_expires_at')
    .limit(limit)
    .execute();
}

/** Marks media as queued by the expiry sweep; false when another sweep got there first. */
export async function markExpiryQueued(db: DbOrTrx, mediaId: string, now: string): Promise<boolean> {
  const r = await db
    .updateTable('media')
    .set({ expiry_queued_at: now })
    .where('id', '=', mediaId)
    .where('expiry_queued_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Never-persisted media whose CDN copy ended before `before` and that arrived before it too
 * (media that arrive already expired get the grace from their arrival), in sessions that are
 * not connected (a connected one can still have the sender's phone upload it again).
 */
export function keysToWipe(db: DbOrTrx, before: string, limit: number) {
  return db
    .selectFrom('media')
    .innerJoin('sessions', 'sessions.id', 'media.session_id')
    .select('media.id as id')
    .where('media.persisted_at', 'is', null)
    .where('media.key_wiped_at', 'is', null)
    .where('media.deleted_at', 'is', null)
    .where('media.cdn_expires_at', '<', before)
    .where('media.created_at', '<', before)
    .where('sessions.status', '!=', 'CONNECTED')
    .limit(limit)
    .execute();
}

/** Wipes the media key (and the sealed message that holds it too). */
export async function wipeKeys(db: DbOrTrx, ids: string[], now: string): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('media')
    .set({ media_key: '', wa_message: null, key_wiped_at: now, updated_at: now })
    .where('id', 'in', ids)
    .where('persisted_at', 'is', null)
    .where('key_wiped_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Stored objects of an account persisted before `before`. */
export function objectsStoredBefore(db: DbOrTrx, accountId: string, before: string, limit: number) {
  return db
    .selectFrom('media')
    .select(['id', 's3_bucket', 's3_key'])
    .where('account_id', '=', accountId)
    .where('s3_key', 'is not', null)
    .where('persisted_at', '<', before)
    .orderBy('persisted_at')
    .limit(limit)
    .execute();
}

/** The media no longer has a stored object (its deletion is queued). */
export async function forgetObjects(db: DbOrTrx, ids: string[], now: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('media')
    .set({ persisted_at: null, s3_bucket: null, s3_key: null, s3_size: null, object_deleted_at: now, updated_at: now })
    .where('id', 'in', ids)
    .execute();
}

/** Media records of an account that arrived before `before` (tombstones included). */
export function recordsBefore(db: DbOrTrx, accountId: string, before: string, limit: number) {
  return db
    .selectFrom('media')
    .select(['id', 's3_bucket', 's3_key'])
    .where('account_id', '=', accountId)
    .where('created_at', '<', before)
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/** Removes media records (their keys, thumbnails and sealed messages go with them). */
export async function removeRecords(db: DbOrTrx, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db.deleteFrom('media').where('id', 'in', ids).executeTakeFirst();
  return Number(r.numDeletedRows);
}
