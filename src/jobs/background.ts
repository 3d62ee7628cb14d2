import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { PersistService } from '../media/persist-service.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import type { Buckets } from '../storage/buckets.js';
import type { EventPipeline } from './event-pipeline.js';
import { createPersistRunner } from './persist-runner.js';

export type Background = ReturnType<typeof createBackground>;

/**
 * The two workers of the outbox, built last: the webhook dispatcher (from the event pipeline)
 * and the auto-persist runner over the persist service.
 */
export function createBackground(deps: { store: Store; clock: Clock; config: Config; events: EventPipeline; persist: PersistService; buckets: Buckets; metrics: Metrics }) {
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

  return {
    start() {
      events.dispatcher.start();
      runner.start();
    },
    /** Stops both workers (uploads aborted and given back, attempts finished or given back). */
    async stop() {
      await Promise.all([runner.stop(), events.stop()]);
    },
  };
}
