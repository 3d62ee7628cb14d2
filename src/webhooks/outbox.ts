import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Trx } from '../store/db.js';
import { findEvent, insertDeliveries, insertEvent, releaseHeldEvent } from '../store/repositories/webhook-outbox.js';
import { listEnabledWebhooks } from '../store/repositories/webhooks.js';
import type { WebhookDeliveryTable } from '../store/schema.js';
import type { EventName, Payload } from './events.js';

export interface OutboxEvent {
  accountId: string;
  session: string | null;
  event: EventName;
  payload: Payload;
  /** The media the event is about (its `mediaUrl` is minted afresh at each delivery). */
  mediaId?: string | null;
  /** Hold the deliveries until `release()` (auto-persist still running). */
  held?: boolean;
  /** Only to this webhook, whatever its filters (`webhook.test`). */
  webhookId?: string;
}

/** Whether a webhook's filters let an event through: event names (`*` = all) and session. */
export function subscribed(
  w: { events: string[]; session: string | null },
  event: string,
  session: string | null,
): boolean {
  const { events } = w;
  return (events.includes('*') || events.includes(event)) && (w.session === null || w.session === session);
}

export type Outbox = ReturnType<typeof createOutbox>;

/**
 * Writes events into the outbox inside the caller's transaction, fanned out to one delivery
 * per matching webhook of the event's account (never another account's). Nothing is written
 * when no webhook wants the event.
 */
export function createOutbox(deps: { clock: Clock }) {
  return {
    /** Records the event and its deliveries; returns the event id, or null when nobody listens. */
    async write(trx: Trx, e: OutboxEvent): Promise<string | null> {
      const targets = e.webhookId
        ? [e.webhookId]
        : (await listEnabledWebhooks(trx, e.accountId))
            .filter((w) => subscribed(w, e.event, e.session))
            .map((w) => w.id);
      if (targets.length === 0) return null;
      const now = deps.clock.now().toISOString();
      const id = newId('evt_');
      await insertEvent(trx, {
        id,
        account_id: e.accountId,
        session: e.session,
        event: e.event,
        payload: JSON.stringify(e.payload),
        media_id: e.mediaId ?? null,
        held: e.held ? 1 : 0,
        created_at: now,
      });
      await insertDeliveries(
        trx,
        targets.map((webhookId) => newDelivery(id, webhookId, e.accountId, e.held ? 'held' : 'pending', now)),
      );
      return id;
    },

    /** Completes a held event's payload with `patch` and makes its deliveries due now. */
    async release(trx: Trx, eventId: string, patch: Payload): Promise<void> {
      const ev = await findEvent(trx, eventId);
      if (!ev || ev.held === 0) return;
      const payload = { ...(JSON.parse(ev.payload) as Payload), ...patch };
      await releaseHeldEvent(trx, eventId, JSON.stringify(payload), deps.clock.now().toISOString());
    },
  };
}

/** A fresh delivery of an event to a webhook (also used by redeliver). */
export function newDelivery(
  eventId: string,
  webhookId: string,
  accountId: string,
  state: 'held' | 'pending',
  now: string,
  redeliveryOf: string | null = null,
): WebhookDeliveryTable {
  return {
    id: newId('dlv_'),
    webhook_id: webhookId,
    event_id: eventId,
    account_id: accountId,
    state,
    attempts: 0,
    next_attempt_at: state === 'pending' ? now : null,
    lease_owner: null,
    lease_expires_at: null,
    last_status_code: null,
    last_error: null,
    redelivery_of: redeliveryOf,
    created_at: now,
    updated_at: now,
  };
}
