import type { DbOrTrx } from '../db.js';
import type { AccountTable } from '../schema.js';

export function insertAccount(db: DbOrTrx, row: AccountTable) {
  return db.insertInto('accounts').values(row).execute();
}

export function findAccount(db: DbOrTrx, id: string) {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listAccounts(db: DbOrTrx) {
  return db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').execute();
}

/** The oldest account: the "default" one of a single-tenant install. */
export function findFirstAccount(db: DbOrTrx) {
  return db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
}
