import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { chainHooks, type PersistHook } from '../media/persist-service.js';
import type { DeletionHook } from '../media/media-deletion.js';
import { mediaDisposition } from '../media/media-object.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import { findAccountMedia } from '../store/repositories/media.js';
import type { Buckets } from '../storage/buckets.js';
import { createDispatcher } from '../webhooks/dispatcher.js';
import { createWebhookSender } from '../webhooks/http-sender.js';
import { mediaDeletedPayload } from '../webhooks/events.js';
import { createEventListeners } from '../webhooks/listeners.js';
import { createOutbox } from '../webhooks/outbox.js';
import type { Ingest } from '../whatsapp/ingest.js';
import { createWakeSignal } from '../workers/wake-signal.js';
import { createPersistJobs } from './persist-jobs.js';

export type EventPipeline = ReturnType<typeof createEventPipeline>;

/**
 * Everything that turns what happens into durable events, built before the services that
 * report to it: the outbox with its webhook dispatcher, the auto-persist queue, and the
 * listeners of ingest, status changes and persist outcomes.
 */
export function createEventPipeline(deps: {
  store: Store;
  clock: Clock;
  config: Config;
  secretBox: SecretBox;
  buckets: Buckets;
  logger: Logger;
  metrics: Metrics;
}) {
  const { store, clock, config } = deps;
  const logger = deps.logger.child({ component: 'outbox' });
  // Leases name their holder, so a process only ever records results of its own claims.
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const outbox = createOutbox({ clock });
  const sender = createWebhookSender({ rules: config.webhooks, timeoutMs: config.webhooks.timeoutMs });
  const dispatcher = createDispatcher({
    store,
    clock,
    secretBox: deps.secretBox,
    sender,
    owner,
    logger,
    metrics: deps.metrics,
    options: {
      concurrency: config.webhooks.concurrency,
      pollIntervalMs: config.outbox.pollIntervalMs,
      leaseMs: config.outbox.leaseMs,
      minRetryDelayMs: config.webhooks.minRetryDelayMs,
      retentionMs: config.webhooks.logRetentionHours * 3_600_000,
    },
    async mediaUrl(accountId, mediaId) {
      const row = await findAccountMedia(store.db, accountId, mediaId);
      if (!row?.persisted_at || !row.s3_bucket || !row.s3_key) return null;
      const bucket = await deps.buckets.bucketFor(accountId);
      return bucket ? bucket.url({ bucket: row.s3_bucket, key: row.s3_key }, mediaDisposition(row)) : null;
    },
  });
  const jobs = createPersistJobs({ clock, outbox });
  // Rung once an ingest that queued work committed; the auto-persist runner listens.
  const jobsDue = createWakeSignal();
  // Rung once a transaction that queued object deletions committed; the deletion worker listens.
  const deletionsDue = createWakeSignal();
  // A wake from inside a transaction may come before the commit; the poll catches up then.
  const notify = () => void setTimeout(() => dispatcher.wake(), 20).unref();
  const listeners = createEventListeners({ outbox, clock, enqueuePersist: jobs.enqueue, notify });

  return {
    owner,
    outbox,
    dispatcher,
    jobs,
    jobsDue,
    deletionsDue,
    notify,
    logger,
    onIngest: listeners.onIngest,
    onSessionStatus: listeners.onSessionStatus,
    /** The `media.deleted` event of an owner's delete, in the tombstone's transaction. */
    onMediaDeleted: (async (trx, d) => {
      await outbox.write(trx, {
        accountId: d.accountId,
        session: d.session,
        event: 'media.deleted',
        payload: mediaDeletedPayload(d.media, d.deletedAt, d.object),
        mediaId: d.media.id,
      });
    }) satisfies DeletionHook,
    /** `media.persisted` / `media.persist_failed` events of a persist. */
    onPersistOutcome: listeners.onPersistOutcome,
    /** The hook of an API persist: its event, and the end of an auto-persist job it made moot. */
    requestHook: chainHooks(listeners.onPersistOutcome, jobs.afterRequest) satisfies PersistHook,
    /** Ingest that wakes the workers once its transaction committed. */
    wrapIngest(ingest: Ingest): Ingest {
      return async (session, message) => {
        const r = await ingest(session, message);
        if (r.created) {
          dispatcher.wake();
          jobsDue.ring();
        }
        return r;
      };
    },
    /** Waits for in-flight deliveries (after a short grace they are cut and given back). */
    async stop() {
      await dispatcher.stop();
      await sender.close();
    },
  };
}
