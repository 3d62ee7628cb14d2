import type { Updateable } from 'kysely';
import type { DbOrTrx } from '../db.js';
import type { WebhookTable } from '../schema.js';

export function insertWebhook(db: DbOrTrx, row: WebhookTable) {
  return db.insertInto('webhooks').values(row).execute();
}

/** A webhook of one account: another account's is simply not found. */
export function findWebhook(db: DbOrTrx, accountId: string, id: string) {
  return db.selectFrom('webhooks').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
}

export function listWebhooks(db: DbOrTrx, accountId: string) {
  return db.selectFrom('webhooks').selectAll().where('account_id', '=', accountId).orderBy('created_at').orderBy('id').execute();
}

/** The enabled webhooks of an account: the candidates an event fans out to. */
export function listEnabledWebhooks(db: DbOrTrx, accountId: string) {
  return db
    .selectFrom('webhooks')
    .select(['id', 'events', 'session'])
    .where('account_id', '=', accountId)
    .where('enabled', '=', 1)
    .execute();
}

export async function updateWebhook(db: DbOrTrx, accountId: string, id: string, patch: Updateable<WebhookTable>) {
  const r = await db.updateTable('webhooks').set(patch).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteWebhook(db: DbOrTrx, accountId: string, id: string) {
  const r = await db.deleteFrom('webhooks').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
