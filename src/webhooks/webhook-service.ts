import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { WebhookDeliveryNotFoundError, WebhookDisabledError, WebhookNotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { Db } from '../store/db.js';
import type { DeliveryState } from '../store/enums.js';
import {
  findDelivery,
  findDeliveryOfEvent,
  insertDeliveries,
  listAttempts,
  listDeliveries,
} from '../store/repositories/webhook-outbox.js';
import * as repo from '../store/repositories/webhooks.js';
import type { WebhookRecord } from '../store/repositories/webhooks.js';
import { newDelivery, type Outbox } from './outbox.js';
import { generateHmacKey } from './signer.js';
import { assertWebhookUrl, type UrlRules } from './url-guard.js';
import {
  toDelivery,
  toWebhook,
  type Delivery,
  type RetrySettings,
  type Webhook,
  type WebhookHeader,
} from './webhook-view.js';

export interface WebhookInput {
  url: string;
  events: string[];
  label: string | null;
  session: string | null;
  hmacKey?: string | undefined;
  retries: RetrySettings;
  headers: WebhookHeader[];
  enabled: boolean;
}

export type WebhookPatch = Partial<WebhookInput>;

export type WebhookService = ReturnType<typeof createWebhookService>;

/** `["*"]` absorbs everything else; duplicates go. */
const normaliseEvents = (events: string[]) => (events.includes('*') ? ['*'] : [...new Set(events)]);

/** Webhooks of an account, their delivery log, test events and redeliveries. */
export function createWebhookService(deps: {
  db: Db;
  clock: Clock;
  secretBox: SecretBox;
  rules: UrlRules;
  outbox: Outbox;
  wake: () => void;
}) {
  const { db, secretBox: box } = deps;

  async function requireRow(accountId: string, id: string): Promise<WebhookRecord> {
    const row = await repo.findWebhook(db, accountId, id);
    if (!row) throw new WebhookNotFoundError();
    return row;
  }

  async function deliveryView(webhookId: string, d: Parameters<typeof toDelivery>[0] | undefined): Promise<Delivery> {
    if (!d) throw new WebhookDeliveryNotFoundError();
    return toDelivery(d, await listAttempts(db, [d.id]));
  }

  return {
    /** Creates a webhook; the HMAC key (given or generated) is in this answer only. */
    async create(accountId: string, input: WebhookInput): Promise<Webhook & { hmacKey: string }> {
      const url = (await assertWebhookUrl(input.url, deps.rules)).href;
      const hmacKey = input.hmacKey ?? generateHmacKey();
      const now = deps.clock.now().toISOString();
      const row: WebhookRecord = {
        id: newId('wh_'),
        account_id: accountId,
        url,
        label: input.label,
        session: input.session,
        events: normaliseEvents(input.events),
        hmac_key: box.seal(hmacKey),
        hmac_key_previous: null,
        hmac_key_previous_until: null,
        retry_attempts: input.retries.attempts,
        retry_delay_ms: Math.round(input.retries.delaySeconds * 1000),
        retry_policy: input.retries.policy,
        headers: box.seal(JSON.stringify(input.headers)),
        enabled: input.enabled ? 1 : 0,
        created_at: now,
        updated_at: now,
      };
      await repo.insertWebhook(db, row);
      return { ...toWebhook(row, box), hmacKey };
    },

    async list(accountId: string): Promise<Webhook[]> {
      return (await repo.listWebhooks(db, accountId)).map((r) => toWebhook(r, box));
    },

    async get(accountId: string, id: string): Promise<Webhook> {
      return toWebhook(await requireRow(accountId, id), box);
    },

    /** Changes the given fields; a new URL is checked like on create; `hmacKey` replaces the key. */
    async update(accountId: string, id: string, p: WebhookPatch): Promise<Webhook> {
      const row = await requireRow(accountId, id);
      const next: WebhookRecord = {
        ...row,
        url: p.url !== undefined && p.url !== row.url ? (await assertWebhookUrl(p.url, deps.rules)).href : row.url,
        label: p.label !== undefined ? p.label : row.label,
        session: p.session !== undefined ? p.session : row.session,
        events: p.events ? normaliseEvents(p.events) : row.events,
        // A plain replacement ends any rotation window: the old secrets stop signing now.
        hmac_key: p.hmacKey ? box.seal(p.hmacKey) : row.hmac_key,
        hmac_key_previous: p.hmacKey ? null : row.hmac_key_previous,
        hmac_key_previous_until: p.hmacKey ? null : row.hmac_key_previous_until,
        retry_attempts: p.retries?.attempts ?? row.retry_attempts,
        retry_delay_ms: p.retries ? Math.round(p.retries.delaySeconds * 1000) : row.retry_delay_ms,
        retry_policy: p.retries?.policy ?? row.retry_policy,
        headers: p.headers ? box.seal(JSON.stringify(p.headers)) : row.headers,
        enabled: p.enabled === undefined ? row.enabled : p.enabled ? 1 : 0,
        updated_at: deps.clock.now().toISOString(),
      };
      if (!(await repo.updateWebhook(db, accountId, id, next))) throw new WebhookNotFoundError();
      // Re-enabled: its paused deliveries are due again.
      if (next.enabled) deps.wake();
      return toWebhook(next, box);
    },

    /**
     * A new signing secret; the current one keeps signing (alongside) for `previousValidSeconds`,
     * so receivers can switch without a gap. Returns the new secret, in this answer only.
     */
    async rotateSecret(
      accountId: string,
      id: string,
      input: { hmacKey?: string | undefined; previousValidSeconds: number },
    ): Promise<Webhook & { hmacKey: string }> {
      const row = await requireRow(accountId, id);
      const hmacKey = input.hmacKey ?? generateHmacKey();
      const now = deps.clock.now();
      const keep = input.previousValidSeconds > 0;
      const next: WebhookRecord = {
        ...row,
        hmac_key: box.seal(hmacKey),
        hmac_key_previous: keep ? row.hmac_key : null,
        hmac_key_previous_until: keep
          ? new Date(now.getTime() + input.previousValidSeconds * 1000).toISOString()
          : null,
        updated_at: now.toISOString(),
      };
      if (!(await repo.updateWebhook(db, accountId, id, next))) throw new WebhookNotFoundError();
      return { ...toWebhook(next, box), hmacKey };
    },

    /** Deletes the webhook with its pending deliveries and log. */
    async remove(accountId: string, id: string): Promise<void> {
      if (!(await repo.deleteWebhook(db, accountId, id))) throw new WebhookNotFoundError();
    },

    /** Queues a `webhook.test` event for this webhook only, whatever its filters. */
    async test(accountId: string, id: string): Promise<Delivery> {
      const row = await requireRow(accountId, id);
      if (!row.enabled) throw new WebhookDisabledError();
      const payload = {
        webhookId: row.id,
        message: 'A test event from titan-media: your endpoint is reachable and the signature checks out.',
      };
      const eventId = await db
        .transaction()
        .execute((trx) =>
          deps.outbox.write(trx, { accountId, session: null, event: 'webhook.test', payload, webhookId: row.id }),
        );
      deps.wake();
      return deliveryView(row.id, await findDeliveryOfEvent(db, row.id, eventId!));
    },

    /** Recent deliveries, newest first, each with its attempt log. */
    async deliveries(
      accountId: string,
      id: string,
      q: { limit: number; state?: DeliveryState | undefined },
    ): Promise<Delivery[]> {
      const row = await requireRow(accountId, id);
      const ds = await listDeliveries(db, row.id, q.limit, q.state);
      const attempts = await listAttempts(
        db,
        ds.map((d) => d.id),
      );
      return ds.map((d) => toDelivery(d, attempts));
    },

    /**
     * Sends a delivery's event again as a new delivery (same event id, a fresh retry budget).
     * An event still waiting for its auto-persist job stays held until the job ends.
     */
    async redeliver(accountId: string, id: string, deliveryId: string): Promise<Delivery> {
      const row = await requireRow(accountId, id);
      const d = await findDelivery(db, row.id, deliveryId);
      if (!d) throw new WebhookDeliveryNotFoundError();
      const fresh = newDelivery(
        d.event_id,
        row.id,
        accountId,
        d.held ? 'held' : 'pending',
        deps.clock.now().toISOString(),
        d.id,
      );
      await insertDeliveries(db, [fresh]);
      deps.wake();
      return toDelivery({ ...fresh, event: d.event }, []);
    },
  };
}
