import type { SecretBox } from '../crypto/secret-box.js';
import type { DeliveryState } from '../store/enums.js';
import type { WebhookRecord } from '../store/repositories/webhooks.js';
import type { WebhookAttemptTable, WebhookDeliveryTable } from '../store/schema.js';
import type { RetryPolicy } from './retry-policy.js';

export interface WebhookHeader {
  name: string;
  value: string;
}

export interface RetrySettings {
  /** Attempts in all, the first included. */
  attempts: number;
  delaySeconds: number;
  policy: RetryPolicy;
}

/** A webhook as the API shows it; the HMAC key only ever appears in the create response. */
export interface Webhook {
  id: string;
  url: string;
  label: string | null;
  session: string | null;
  events: string[];
  retries: RetrySettings;
  headers: WebhookHeader[];
  enabled: boolean;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryAttempt {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  at: string;
  nextRetryAt: string | null;
}

/** One event's delivery to one webhook, with its attempt log. */
export interface Delivery {
  id: string;
  eventId: string;
  event: string;
  state: DeliveryState;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextRetryAt: string | null;
  redeliveryOf: string | null;
  createdAt: string;
  updatedAt: string;
  log: DeliveryAttempt[];
}

/** The one mapping from a webhook row to the API (headers are stored sealed). */
export function toWebhook(r: WebhookRecord, box: SecretBox): Webhook {
  return {
    id: r.id,
    url: r.url,
    label: r.label,
    session: r.session,
    events: r.events,
    retries: { attempts: r.retry_attempts, delaySeconds: r.retry_delay_ms / 1000, policy: r.retry_policy },
    headers: JSON.parse(box.open(r.headers).toString('utf8')) as WebhookHeader[],
    enabled: r.enabled === 1,
    previousSecretExpiresAt: r.hmac_key_previous ? r.hmac_key_previous_until : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toDelivery(d: WebhookDeliveryTable & { event: string }, attempts: WebhookAttemptTable[]): Delivery {
  return {
    id: d.id,
    eventId: d.event_id,
    event: d.event,
    state: d.state,
    attempts: d.attempts,
    lastStatusCode: d.last_status_code,
    lastError: d.last_error,
    nextRetryAt: d.state === 'pending' ? d.next_attempt_at : null,
    redeliveryOf: d.redelivery_of,
    createdAt: d.created_at,
    updatedAt: d.updated_at,
    log: attempts
      .filter((a) => a.delivery_id === d.id)
      .map((a) => ({
        attempt: a.attempt,
        statusCode: a.status_code,
        error: a.error,
        durationMs: a.duration_ms,
        at: a.started_at,
        nextRetryAt: a.next_retry_at,
      })),
  };
}
