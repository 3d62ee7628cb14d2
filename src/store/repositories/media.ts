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
