import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { mediaDisposition } from '../media/media-object.js';
import type { PersistListener, PersistService } from '../media/persist-service.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import { findAccountMedia } from '../store/repositories/media.js';
import type { Buckets } from '../storage/buckets.js';
import { createDispatcher } from '../webhooks/dispatcher.js';
import { createWebhookSender } from '../webhooks/http-sender.js';
import { createEventListeners } from '../webhooks/listeners.js';
import { createOutbox } from '../webhooks/outbox.js';
import type { Ingest } from '../whatsapp/ingest.js';
import { createDeletionWorker } from './deletion-worker.js';
import { createLifecycleSweep } from './lifecycle-sweep.js';
import { createPersistJobs } from './persist-jobs.js';
import { createPersistRunner } from './persist-runner.js';

export type Background = ReturnType<typeof createBackground>;

/**
 * The durable outbox and its workers: the webhook dispatcher, the auto-persist runner, the
 * object deletion worker and the media lifecycle sweep, with the listeners that feed them. Built before the persist service (which takes
 * `persistListeners`); `usePersist` hands the service over once it exists.
 */
export function createBackground(deps: { store: Store; clock: Clock; config: Config; secretBox: SecretBox; buckets: Buckets; logger: Logger; metrics: Metrics }) {
  const { store, clock, config } = deps;
  const logger = deps.logger.child({ component: 'outbox' });
  // Leases name their holder, so a process only ever records results of its own claims.
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  let persist: PersistService | null = null;
  const persistService = () => {
    if (!persist) throw new Error('The persist service was not handed to the background workers.');
    return persist;
  };

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
  const runner = createPersistRunner({
    store,
    clock,
    owner,
    options: {
      ...config.autoPersist,
      pollIntervalMs: config.outbox.pollIntervalMs,
      leaseMs: config.outbox.leaseMs,
      retentionMs: config.webhooks.logRetentionHours * 3_600_000,
    },
    jobs,
    buckets: deps.buckets,
    persist: persistService,
    onEnded: () => dispatcher.wake(),
    logger,
    metrics: deps.metrics,
  });
  const deletions = createDeletionWorker({
    store,
    clock,
    owner,
    buckets: deps.buckets,
    options: { concurrency: config.lifecycle.deletionConcurrency, pollIntervalMs: config.outbox.pollIntervalMs, leaseMs: config.outbox.leaseMs, retryDelayMs: 1_000 },
    logger: deps.logger.child({ component: 'media-deletion' }),
    metrics: deps.metrics,
  });
  const lifecycle = createLifecycleSweep({
    store,
    clock,
    owner,
    options: { intervalMs: config.lifecycle.sweepIntervalMs, batchSize: config.lifecycle.batchSize, keyWipeGraceMs: config.lifecycle.keyWipeGraceMs, leaseMs: config.outbox.leaseMs },
    buckets: deps.buckets,
    enqueuePersist: jobs.enqueue,
    wakePersist: () => runner.wake(),
    wakeDeletions: () => deletions.wake(),
    logger: deps.logger.child({ component: 'media-lifecycle' }),
    metrics: deps.metrics,
  });
  // A wake from inside a transaction may come before the commit; the poll catches up then.
  const notify = () => void setTimeout(() => dispatcher.wake(), 20).unref();
  const listeners = createEventListeners({ outbox, clock, enqueuePersist: jobs.enqueue, notify });
  const persistListeners: PersistListener[] = [jobs.onPersistOutcome, listeners.onPersistOutcome];

  return {
    outbox,
    dispatcher,
    notify,
    /** After a transaction that queued object deletions committed. */
    wakeDeletions: () => void setTimeout(() => deletions.wake(), 20).unref(),
    onIngest: listeners.onIngest,
    onSessionStatus: listeners.onSessionStatus,
    persistListeners,
    usePersist(p: PersistService) {
      persist = p;
    },
    /** Ingest that wakes the workers once its transaction committed. */
    wrapIngest(ingest: Ingest): Ingest {
      return async (session, message) => {
        const r = await ingest(session, message);
        if (r.created) {
          dispatcher.wake();
          runner.wake();
        }
        return r;
      };
    },
    start() {
      dispatcher.start();
      runner.start();
      deletions.start();
      lifecycle.start();
    },
    /** Stops both workers (uploads aborted and given back, attempts finished or given back). */
    async stop() {
      await lifecycle.stop();
      await Promise.all([runner.stop(), dispatcher.stop(), deletions.stop()]);
      await sender.close();
    },
  };
}
