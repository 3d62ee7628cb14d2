import type { DbOrTrx } from '../db.js';
import { readJson, StringList } from '../json-columns.js';
import type { WebhookTable } from '../schema.js';

/** A webhook as the code sees it: its event filter parsed. */
export type WebhookRecord = Omit<WebhookTable, 'events'> & { events: string[] };

const events = (text: string) => readJson(StringList, text, 'webhooks.events');
const toRecord = (r: WebhookTable): WebhookRecord => ({ ...r, events: events(r.events) });

export function insertWebhook(db: DbOrTrx, row: WebhookRecord) {
  return db
    .insertInto('webhooks')
    .values({ ...row, events: JSON.stringify(row.events) })
    .execute();
}

/** A webhook of one account: another account's is simply not found. */
export async function findWebhook(db: DbOrTrx, accountId: string, id: string): Promise<WebhookRecord | undefined> {
  const r = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return r && toRecord(r);
}

export async function listWebhooks(db: DbOrTrx, accountId: string): Promise<WebhookRecord[]> {
  return (
    await db
      .selectFrom('webhooks')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
  ).map(toRecord);
}

/** The enabled webhooks of an account: the candidates an event fans out to. */
export async function listEnabledWebhooks(
  db: DbOrTrx,
  accountId: string,
): Promise<Pick<WebhookRecord, 'id' | 'events' | 'session'>[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select(['id', 'events', 'session'])
    .where('account_id', '=', accountId)
    .where('enabled', '=', 1)
    .execute();
  return rows.map((r) => ({ ...r, events: events(r.events) }));
}

export async function updateWebhook(db: DbOrTrx, accountId: string, id: string, patch: WebhookRecord) {
  const r = await db
    .updateTable('webhooks')
    .set({ ...patch, events: JSON.stringify(patch.events) })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteWebhook(db: DbOrTrx, accountId: string, id: string) {
  const r = await db.deleteFrom('webhooks').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
