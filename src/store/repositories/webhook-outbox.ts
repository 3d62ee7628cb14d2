import type { Updateable } from 'kysely';
import type { Db, DbOrTrx, Store } from '../db.js';
import type { DeliveryState } from '../enums.js';
import type { WebhookAttemptTable, WebhookDeliveryTable, WebhookEventTable } from '../schema.js';

export function insertEvent(db: DbOrTrx, row: WebhookEventTable) {
  return db.insertInto('webhook_events').values(row).execute();
}

export function insertDeliveries(db: DbOrTrx, rows: WebhookDeliveryTable[]) {
  return db.insertInto('webhook_deliveries').values(rows).execute();
}

export function findEvent(db: DbOrTrx, id: string) {
  return db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Ends the hold on an event: its payload is final now, and its deliveries become due at `at`. */
export async function releaseHeldEvent(db: DbOrTrx, id: string, payload: string, at: string) {
  await db.updateTable('webhook_events').set({ payload, held: 0 }).where('id', '=', id).execute();
  await db
    .updateTable('webhook_deliveries')
    .set({ state: 'pending', next_attempt_at: at, updated_at: at })
    .where('event_id', '=', id)
    .where('state', '=', 'held')
    .execute();
}

/**
 * Claims up to `limit` due deliveries of enabled webhooks for `owner` until `leaseUntil`, in one
 * conditional UPDATE: a row is claimable only while nobody holds an unexpired lease on it, so
 * two processes never claim the same attempt. On PostgreSQL the candidates are also locked
 * with SKIP LOCKED, so concurrent claimers pass each other instead of queueing; SQLite
 * serialises writers, so the statement is atomic there as it is.
 */
export function claimDueDeliveries(store: Store, o: { owner: string; now: string; leaseUntil: string; limit: number }) {
  const db = store.db;
  let due = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .select('d.id')
    .where('d.state', '=', 'pending')
    .where('d.next_attempt_at', '<=', o.now)
    .where((eb) => eb.or([eb('d.lease_expires_at', 'is', null), eb('d.lease_expires_at', '<', o.now)]))
    .where('w.enabled', '=', 1)
    .orderBy('d.next_attempt_at')
    .limit(o.limit);
  if (store.dialect === 'postgres') due = due.forUpdate(['d']).skipLocked();
  // A materialized CTE: inlined into `IN (…)`, PostgreSQL may evaluate a LIMIT … SKIP LOCKED
  // subquery more than once and claim (and then strand) more rows than asked for.
  return db
    .with(
      (cte) => cte('due').materialized(),
      () => due,
    )
    .updateTable('webhook_deliveries')
    .set({ lease_owner: o.owner, lease_expires_at: o.leaseUntil })
    .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
    .where('state', '=', 'pending')
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', o.now)]))
    .returning(['id'])
    .execute();
}

/** What one attempt needs: the delivery, its webhook and its event. */
export function loadDeliveryContexts(db: Db, ids: string[]) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.attempts',
      'w.id as webhook_id',
      'w.url',
      'w.hmac_key',
      'w.hmac_key_previous',
      'w.hmac_key_previous_until',
      'w.headers',
      'w.retry_attempts',
      'w.retry_delay_ms',
      'w.retry_policy',
      'e.id as event_id',
      'e.account_id',
      'e.session',
      'e.event',
      'e.payload',
      'e.media_id',
      'e.created_at as event_created_at',
    ])
    .where('d.id', 'in', ids)
    .execute();
}

export type DeliveryContext = Awaited<ReturnType<typeof loadDeliveryContexts>>[number];

/**
 * Records an attempt and the delivery's next state, only while `owner` still holds the lease
 * (returns false, recording nothing, when the lease was lost).
 */
export async function recordAttempt(
  db: DbOrTrx,
  owner: string,
  attempt: WebhookAttemptTable,
  patch: Updateable<WebhookDeliveryTable>,
) {
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ ...patch, lease_owner: null, lease_expires_at: null })
    .where('id', '=', attempt.delivery_id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await db.insertInto('webhook_attempts').values(attempt).execute();
  return true;
}

/** Gives a claimed delivery back untouched (shutdown before its attempt ran). */
export function releaseDeliveryLease(db: DbOrTrx, id: string, owner: string) {
  return db
    .updateTable('webhook_deliveries')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute();
}

/** Recent deliveries of a webhook, newest first, with their event name. */
export function listDeliveries(db: DbOrTrx, webhookId: string, limit: number, state?: DeliveryState) {
  let q = db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select('e.event')
    .where('d.webhook_id', '=', webhookId);
  if (state) q = q.where('d.state', '=', state);
  return q.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(limit).execute();
}

export function findDelivery(db: DbOrTrx, webhookId: string, id: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select(['e.event', 'e.held'])
    .where('d.webhook_id', '=', webhookId)
    .where('d.id', '=', id)
    .executeTakeFirst();
}

export function listAttempts(db: DbOrTrx, deliveryIds: string[]) {
  if (deliveryIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', 'in', deliveryIds)
    .orderBy('attempt')
    .execute();
}

/** Deletes finished deliveries (and their log) last touched before `before`, then orphaned events. */
export async function pruneOutbox(db: Db, before: string) {
  await db
    .deleteFrom('webhook_deliveries')
    .where('state', 'in', ['delivered', 'failed'])
    .where('updated_at', '<', before)
    .execute();
  await db
    .deleteFrom('webhook_events')
    .where('created_at', '<', before)
    .where('held', '=', 0)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom('webhook_deliveries as d').select('d.id').whereRef('d.event_id', '=', 'webhook_events.id'),
        ),
      ),
    )
    .execute();
}

/** The delivery of one event to one webhook (the newest, when redelivered). */
export function findDeliveryOfEvent(db: DbOrTrx, webhookId: string, eventId: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select(['e.event', 'e.held'])
    .where('d.webhook_id', '=', webhookId)
    .where('d.event_id', '=', eventId)
    .orderBy('d.created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
