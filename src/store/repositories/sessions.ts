import type { Updateable } from 'kysely';
import type { DbOrTrx } from '../db.js';
import type { SessionTable } from '../schema.js';

export function insertSession(db: DbOrTrx, row: SessionTable) {
  return db.insertInto('sessions').values(row).execute();
}

/** A session by name within one account: another account's session is simply not found. */
export function findSessionByName(db: DbOrTrx, accountId: string, name: string) {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('name', '=', name)
    .executeTakeFirst();
}

export function findSessionById(db: DbOrTrx, id: string) {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listSessions(db: DbOrTrx, accountId: string) {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('name')
    .execute();
}

export function updateSession(db: DbOrTrx, id: string, patch: Updateable<SessionTable>) {
  return db.updateTable('sessions').set(patch).where('id', '=', id).execute();
}

export async function deleteSession(db: DbOrTrx, accountId: string, id: string) {
  const r = await db.deleteFrom('sessions').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
