import type { DbOrTrx } from '../db.js';
import type { CommandState } from '../enums.js';
import type { SessionCommandTable } from '../schema.js';

export function insertCommand(db: DbOrTrx, row: SessionCommandTable) {
  return db.insertInto('session_commands').values(row).execute();
}

export function findCommand(db: DbOrTrx, id: string) {
  return db.selectFrom('session_commands').selectAll().where('id', '=', id).executeTakeFirst();
}

export function pendingCommands(db: DbOrTrx, ownerId: string) {
  return db
    .selectFrom('session_commands')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .where('state', '=', 'pending')
    .orderBy('created_at')
    .execute();
}

/** Moves a command from one state to another; false when someone else moved it first. */
export async function transitionCommand(
  db: DbOrTrx,
  id: string,
  from: CommandState,
  to: CommandState,
  at: string,
  result: string | null = null,
): Promise<boolean> {
  const r = await db
    .updateTable('session_commands')
    .set({ state: to, result, updated_at: at })
    .where('id', '=', id)
    .where('state', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export function deleteCommand(db: DbOrTrx, id: string) {
  return db.deleteFrom('session_commands').where('id', '=', id).execute();
}
