import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SettingsService } from '../accounts/settings-service.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { PersistListener, PersistService } from '../media/persist-service.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import { findAccountMedia } from '../store/repositories/media.js';
import { objectUrl } from '../storage/s3-objects.js';
import { createDispatcher } from '../webhooks/dispatcher.js';
import { createWebhookSender } from '../webhooks/http-sender.js';
import { createEventListeners } from '../webhooks/listeners.js';
import { createOutbox } from '../webhooks/outbox.js';
import type { Ingest } from '../whatsapp/ingest.js';
import { createPersistJobs } from './persist-jobs.js';
import { createPersistRunner } from './persist-runner.js';

export type Background = ReturnType<typeof createBackground>;

/**
 * The durable outbox and its two workers: the webhook dispatcher and the auto-persist runner,
 * with the listeners that feed them. Built before the persist service (which takes
 * `persistListeners`); `usePersist` hands the service over once it exists.
 */
export function createBackground(deps: { store: Store; clock: Clock; config: Config; secretBox: SecretBox; settings: () => SettingsService; logger: Logger; metrics: Metrics }) {
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
      const storage = await deps.settings().storageFor(accountId);
      return storage ? objectUrl(storage.client, storage.target.settings, row.s3_bucket, row.s3_key) : null;
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
    settings: deps.settings,
    persist: persistService,
    onEnded: () => dispatcher.wake(),
    logger,
    metrics: deps.metrics,
  });
  // A wake from inside a transaction may come before the commit; the poll catches up then.
  const notify = () => void setTimeout(() => dispatcher.wake(), 20).unref();
  const listeners = createEventListeners({ outbox, clock, enqueuePersist: jobs.enqueue, notify });
  const persistListeners: PersistListener[] = [jobs.onPersistOutcome, listeners.onPersistOutcome];

  return {
    outbox,
    dispatcher,
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
    },
    /** Stops the auto-persist runner: running uploads aborted at once, their jobs given back. */
    stopPersisting: () => runner.stop(),
    /** Stops both workers (uploads aborted and given back, attempts finished or given back). */
    async stop() {
      await Promise.all([runner.stop(), dispatcher.stop()]);
      await sender.close();
    },
  };
}
