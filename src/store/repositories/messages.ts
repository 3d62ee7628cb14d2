import type { DbOrTrx } from '../db.js';
import type { MessageTable } from '../schema.js';

/** Records an ingested message unless (session, message id) exists; returns whether it was new. */
export async function insertMessageIfAbsent(db: DbOrTrx, row: MessageTable): Promise<boolean> {
  const r = await db
    .insertInto('messages')
    .values(row)
    .onConflict((oc) => oc.columns(['session_id', 'message_id']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}
