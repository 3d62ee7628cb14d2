import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { createWorker, type Worker } from '../workers/polling-worker.js';
import type { Metrics } from '../metrics.js';
import { newId } from '../ids.js';
import type { Store } from '../store/db.js';
import {
  claimDueDeliveries,
  loadDeliveryContexts,
  pruneOutbox,
  recordAttempt,
  releaseDeliveryLease,
  type DeliveryContext,
} from '../store/repositories/webhook-outbox.js';
import { VERSION } from '../version.js';
import { envelopeBody, type Payload } from './events.js';
import type { SendResult, WebhookSender } from './http-sender.js';
import { retryDelayMs } from './retry-policy.js';
import { signBody, signStandard } from './signer.js';

export interface DispatcherOptions {
  concurrency: number;
  pollIntervalMs: number;
  /** How long a claim lasts; longer than one attempt can take. */
  leaseMs: number;
  minRetryDelayMs: number;
  /** Finished deliveries and their events are kept this long for the delivery log. */
  retentionMs: number;
}

const STOP_GRACE_MS = 2_000;

/**
 * Delivers the outbox: claims due deliveries with a lease, POSTs each signed envelope with a
 * per-attempt timeout, and records the attempt with the next state (delivered, pending with
 * the next retry time, or failed once the webhook's attempts are used up), all in one
 * transaction guarded by the lease.
 */
export function createDispatcher(deps: {
  store: Store;
  clock: Clock;
  secretBox: SecretBox;
  sender: WebhookSender;
  owner: string;
  options: DispatcherOptions;
  logger: Logger;
  metrics: Metrics;
  /** A fresh object URL for persisted media (presigned URLs expire), or null. */
  mediaUrl: (accountId: string, mediaId: string) => Promise<string | null>;
}): Worker {
  const { store, clock, options: o } = deps;
  const db = store.db;
  const iso = (ms: number) => new Date(ms).toISOString();

  async function claim(limit: number): Promise<DeliveryContext[]> {
    const now = clock.now().getTime();
    const claimed = await claimDueDeliveries(store, {
      owner: deps.owner,
      now: iso(now),
      leaseUntil: iso(now + o.leaseMs),
      limit,
    });
    return claimed.length === 0
      ? []
      : loadDeliveryContexts(
          db,
          claimed.map((c) => c.id),
        );
  }

  async function body(d: DeliveryContext): Promise<string> {
    let payload = d.payload;
    // Stored URLs may be presigned and stale by now: mint one for this attempt.
    if (d.media_id && payload.includes('"mediaUrl"')) {
      const p = JSON.parse(payload) as Payload;
      if (typeof p.mediaUrl === 'string') {
        p.mediaUrl = (await deps.mediaUrl(d.account_id, d.media_id).catch(() => null)) ?? p.mediaUrl;
        payload = JSON.stringify(p);
      }
    }
    return envelopeBody({ id: d.event_id, event: d.event, session: d.session, timestamp: d.event_created_at, payload });
  }

  /** The signed request: the body (the exact bytes signed) and its headers. */
  async function request(d: DeliveryContext, at: Date) {
    const raw = await body(d);
    const hmacKey = deps.secretBox.open(d.hmac_key).toString('utf8');
    // During a rotation window the previous key signs too, so receivers can switch without a gap.
    const previous =
      d.hmac_key_previous && d.hmac_key_previous_until && d.hmac_key_previous_until > at.toISOString()
        ? deps.secretBox.open(d.hmac_key_previous).toString('utf8')
        : null;
    const custom = JSON.parse(deps.secretBox.open(d.headers).toString('utf8')) as { name: string; value: string }[];
    const ts = Math.floor(at.getTime() / 1000);
    const headers: Record<string, string> = {
      ...Object.fromEntries(custom.map((h) => [h.name.toLowerCase(), h.value])),
      'content-type': 'application/json',
      'user-agent': `titan-media/${VERSION} (webhooks)`,
      // Standard Webhooks: the id and timestamp are inside the signature, so a replay cannot refresh them.
      'webhook-id': d.event_id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandard(previous ? [hmacKey, previous] : [hmacKey], d.event_id, ts, raw),
      'x-webhook-id': d.event_id,
      'x-webhook-timestamp': String(ts),
      'x-webhook-signature': signBody(hmacKey, raw),
    };
    return { raw, headers };
  }

  async function attempt(d: DeliveryContext): Promise<void> {
    if (worker.signal.aborted) {
      await releaseDeliveryLease(db, d.id, deps.owner);
      return;
    }
    const startedAt = clock.now();
    let r: SendResult;
    try {
      const { raw, headers } = await request(d, startedAt);
      r = await deps.sender.send(d.url, headers, raw, worker.signal);
    } catch (err) {
      // E.g. a key sealed under a SECRET_KEY this process lacks: a failed attempt, visible in the log.
      deps.logger.error({ err, deliveryId: d.id }, 'could not prepare a webhook request');
      r = { statusCode: null, error: `could not prepare the request: ${(err as Error).message}`, durationMs: 0 };
    }
    if (r.statusCode === null && worker.signal.aborted) {
      // Cut short by shutdown: not the receiver's fault, so not an attempt. Another run sends it.
      await releaseDeliveryLease(db, d.id, deps.owner);
      return;
    }
    const n = d.attempts + 1;
    const now = clock.now();
    const ok = r.error === null;
    const retryAt =
      !ok && n < d.retry_attempts
        ? iso(now.getTime() + retryDelayMs(d.retry_policy, d.retry_delay_ms, n, o.minRetryDelayMs))
        : null;
    const state = ok ? 'delivered' : retryAt ? 'pending' : 'failed';
    const recorded = await db.transaction().execute((trx) =>
      recordAttempt(
        trx,
        deps.owner,
        {
          id: newId('att_'),
          delivery_id: d.id,
          attempt: n,
          status_code: r.statusCode,
          error: r.error,
          duration_ms: r.durationMs,
          started_at: startedAt.toISOString(),
          next_retry_at: retryAt,
        },
        {
          state,
          attempts: n,
          next_attempt_at: retryAt,
          last_status_code: r.statusCode,
          last_error: r.error,
          updated_at: now.toISOString(),
        },
      ),
    );
    const log = {
      deliveryId: d.id,
      webhookId: d.webhook_id,
      eventId: d.event_id,
      event: d.event,
      attempt: n,
      statusCode: r.statusCode,
      ms: r.durationMs,
    };
    deps.metrics.webhookAttempt(state === 'pending' ? 'retry' : state, r.durationMs);
    if (!recorded) deps.logger.warn(log, 'webhook attempt not recorded: the lease was lost');
    else if (state === 'failed')
      deps.logger.warn({ ...log, error: r.error, detail: r.detail }, 'webhook delivery failed for good');
    else if (state === 'pending')
      deps.logger.info(
        { ...log, error: r.error, detail: r.detail, nextRetryAt: retryAt },
        'webhook attempt failed, will retry',
      );
    else deps.logger.debug(log, 'webhook delivered');
  }

  const prune = { what: 'the webhook log', run: (before: string) => pruneOutbox(db, before) };
  // Nothing new starts on stop; in-flight attempts get a short grace, then are cut and given back.
  const worker: Worker = createWorker<DeliveryContext>({
    name: 'webhooks',
    options: o,
    clock,
    logger: deps.logger,
    claim,
    run: attempt,
    prune,
    stopGraceMs: STOP_GRACE_MS,
  });
  return worker;
}
