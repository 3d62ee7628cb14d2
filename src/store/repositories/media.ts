import type { Updateable } from 'kysely';
import type { DbOrTrx } from '../db.js';
import type { MediaTable } from '../schema.js';

/** Inserts unless (session, message id) exists; returns whether a row was added. */
export async function insertMediaIfAbsent(db: DbOrTrx, row: MediaTable): Promise<boolean> {
  const r = await db
    .insertInto('media')
    .values(row)
    .onConflict((oc) => oc.columns(['session_id', 'message_id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export function findMediaByMessage(db: DbOrTrx, sessionId: string, messageId: string) {
  return db
    .selectFrom('media')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
}

/** A media object of one account and session: anything else is simply not found. */
export function findMedia(db: DbOrTrx, accountId: string, sessionId: string, id: string) {
  return db
    .selectFrom('media')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('session_id', '=', sessionId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function updateMedia(db: DbOrTrx, id: string, patch: Updateable<MediaTable>) {
  return db.updateTable('media').set(patch).where('id', '=', id).execute();
}

/** A media object of one account by id, whatever its session (background jobs hold only the id). */
export function findAccountMedia(db: DbOrTrx, accountId: string, id: string) {
  return db.selectFrom('media').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

export function insertThumbnail(db: DbOrTrx, mediaId: string, jpeg: Buffer) {
  return db
    .insertInto('media_thumbnails')
    .values({ media_id: mediaId, jpeg: jpeg.toString('base64') })
    .onConflict((oc) => oc.column('media_id').doNothing())
    .execute();
}

export async function findThumbnail(db: DbOrTrx, mediaId: string): Promise<Buffer | null> {
  const r = await db.selectFrom('media_thumbnails').select('jpeg').where('media_id', '=', mediaId).executeTakeFirst();
  return r ? Buffer.from(r.jpeg, 'base64') : null;
}

export function deleteThumbnail(db: DbOrTrx, mediaId: string) {
  return db.deleteFrom('media_thumbnails').where('media_id', '=', mediaId).execute();
}

/** Records a finished persist unless the media was deleted meanwhile; false when it was. */
export async function recordPersisted(db: DbOrTrx, id: string, patch: Updateable<MediaTable>): Promise<boolean> {
  const r = await db
    .updateTable('media')
    .set(patch)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
