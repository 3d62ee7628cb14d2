import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PersistService } from '../media/persist-service.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import type { Buckets } from '../storage/buckets.js';
import { createDeletionWorker } from './deletion-worker.js';
import type { EventPipeline } from './event-pipeline.js';
import { createLifecycleSweep } from './lifecycle-sweep.js';
import { createPersistRunner } from './persist-runner.js';

export type Background = ReturnType<typeof createBackground>;

/**
 * The workers of the outbox, built last: the webhook dispatcher (from the event pipeline), the
 * auto-persist runner over the persist service, the object deletion worker and the media
 * lifecycle sweep.
 */
export function createBackground(deps: {
  store: Store;
  clock: Clock;
  config: Config;
  events: EventPipeline;
  persist: PersistService;
  buckets: Buckets;
  logger: Logger;
  metrics: Metrics;
}) {
  const { config, events } = deps;
  const runner = createPersistRunner({
    store: deps.store,
    clock: deps.clock,
    owner: events.owner,
    options: {
      ...config.autoPersist,
      pollIntervalMs: config.outbox.pollIntervalMs,
      leaseMs: config.outbox.leaseMs,
      retentionMs: config.webhooks.logRetentionHours * 3_600_000,
    },
    jobs: events.jobs,
    events: events.onPersistOutcome,
    buckets: deps.buckets,
    persist: deps.persist,
    onEnded: () => events.dispatcher.wake(),
    logger: events.logger,
    metrics: deps.metrics,
  });
  events.jobsDue.listen(() => runner.wake());
  const deletions = createDeletionWorker({
    store: deps.store,
    clock: deps.clock,
    owner: events.owner,
    buckets: deps.buckets,
    options: {
      concurrency: config.lifecycle.deletionConcurrency,
      pollIntervalMs: config.outbox.pollIntervalMs,
      leaseMs: config.outbox.leaseMs,
      retryDelayMs: 1_000,
    },
    logger: deps.logger.child({ component: 'media-deletion' }),
    metrics: deps.metrics,
  });
  // A ring from inside a transaction may come before the commit; the poll catches up then.
  events.deletionsDue.listen(() => void setTimeout(() => deletions.wake(), 20).unref());
  const lifecycle = createLifecycleSweep({
    store: deps.store,
    clock: deps.clock,
    owner: events.owner,
    options: {
      intervalMs: config.lifecycle.sweepIntervalMs,
      batchSize: config.lifecycle.batchSize,
      keyWipeGraceMs: config.lifecycle.keyWipeGraceMs,
      leaseMs: config.outbox.leaseMs,
    },
    buckets: deps.buckets,
    enqueuePersist: events.jobs.enqueue,
    wakePersist: () => runner.wake(),
    wakeDeletions: () => deletions.wake(),
    logger: deps.logger.child({ component: 'media-lifecycle' }),
    metrics: deps.metrics,
  });

  return {
    start() {
      events.dispatcher.start();
      runner.start();
      deletions.start();
      lifecycle.start();
    },
    /** Stops the auto-persist runner: running uploads aborted at once, their jobs given back. */
    stopPersisting: () => runner.stop(),
    /** Stops every worker (uploads aborted and given back, attempts finished or given back). */
    async stop() {
      await lifecycle.stop();
      await Promise.all([runner.stop(), deletions.stop(), events.stop()]);
    },
  };
}
