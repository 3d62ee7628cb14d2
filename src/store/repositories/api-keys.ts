import type { Updateable } from 'kysely';
import type { DbOrTrx } from '../db.js';
import { readJson, StringList } from '../json-columns.js';
import type { ApiKeyTable } from '../schema.js';

/** A key as the code sees it: its scopes parsed. */
export type ApiKeyRecord = Omit<ApiKeyTable, 'scopes'> & { scopes: string[] };

const toRecord = (r: ApiKeyTable): ApiKeyRecord => ({
  ...r,
  scopes: readJson(StringList, r.scopes, 'api_keys.scopes'),
});

export function insertApiKey(db: DbOrTrx, row: ApiKeyRecord) {
  return db
    .insertInto('api_keys')
    .values({ ...row, scopes: JSON.stringify(row.scopes) })
    .execute();
}

export async function findApiKeyByHash(db: DbOrTrx, hash: string): Promise<ApiKeyRecord | undefined> {
  const r = await db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
  return r && toRecord(r);
}

/** Keys of one account; `accountId` is always part of the lookup (tenant isolation). */
export async function listApiKeys(db: DbOrTrx, accountId?: string): Promise<ApiKeyRecord[]> {
  let q = db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id');
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return (await q.execute()).map(toRecord);
}

export async function findApiKey(db: DbOrTrx, accountId: string, id: string): Promise<ApiKeyRecord | undefined> {
  const r = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return r && toRecord(r);
}

/** Label and state only: the scopes of a key never change. */
export async function updateApiKey(
  db: DbOrTrx,
  accountId: string,
  id: string,
  patch: Updateable<Pick<ApiKeyTable, 'label' | 'is_active'>>,
) {
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
  const r = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export function touchApiKey(db: DbOrTrx, id: string, at: string) {
  return db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
