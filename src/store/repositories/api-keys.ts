import type { Updateable } from 'kysely';
import type { DbOrTrx } from '../db.js';
import type { ApiKeyTable } from '../schema.js';

export function insertApiKey(db: DbOrTrx, row: ApiKeyTable) {
  return db.insertInto('api_keys').values(row).execute();
}

export function findApiKeyByHash(db: DbOrTrx, hash: string) {
  return db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
}

/** Keys of one account; `accountId` is always part of the lookup (tenant isolation). */
export function listApiKeys(db: DbOrTrx, accountId?: string) {
  let q = db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.execute();
}

export function findApiKey(db: DbOrTrx, accountId: string, id: string) {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function updateApiKey(db: DbOrTrx, accountId: string, id: string, patch: Updateable<ApiKeyTable>) {
  const r = await db
    .updateTable('api_keys')
    .set(patch)
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteApiKey(db: DbOrTrx, accountId: string, id: string) {
  const r = await db.deleteFrom('api_keys').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function countApiKeys(db: DbOrTrx) {
  const r = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

export function touchApiKey(db: DbOrTrx, id: string, at: string) {
  return db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
