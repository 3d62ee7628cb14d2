import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import { claimDueDeletions, deletionDone, deletionFailed } from '../store/repositories/media-deletions.js';
import type { MediaDeletionTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';
import { createWorker, type Worker } from '../workers/polling-worker.js';

const MAX_DELAY_MS = 3_600_000;

/**
 * Removes queued objects from their buckets, a batch of claims at a time, with a lease so a
 * process that dies mid-batch leaves its rows to the next claim (deleting an object twice is
 * harmless). A failing deletion is retried with backoff until it succeeds: nothing the owner
 * asked to erase is given up on silently (the pending gauge shows it).
 */
export function createDeletionWorker(deps: {
  store: Store;
  clock: Clock;
  owner: string;
  buckets: Buckets;
  options: { concurrency: number; pollIntervalMs: number; leaseMs: number; retryDelayMs: number };
  logger: Logger;
  metrics: Metrics;
}): Worker {
  const { store, clock, owner, options: o } = deps;
  const iso = (ms: number) => new Date(ms).toISOString();

  async function run(d: MediaDeletionTable) {
    try {
      const bucket = await deps.buckets.bucketFor(d.account_id);
      if (!bucket) throw new Error('no bucket is configured for the account any more');
      await bucket.delete({ bucket: d.bucket, key: d.key });
      await deletionDone(store.db, d.id, d.media_id, clock.now().toISOString());
      deps.metrics.objectDeletion(d.reason, 'deleted');
    } catch (err) {
      const delay = Math.min(o.retryDelayMs * 2 ** Math.min(d.attempts, 30), MAX_DELAY_MS);
      await deletionFailed(store.db, d.id, owner, {
        attempts: d.attempts + 1,
        next_run_at: iso(clock.now().getTime() + delay),
        last_error: (err as Error).message,
      });
      deps.metrics.objectDeletion(d.reason, 'retry');
      deps.logger.warn(
        { err, bucket: d.bucket, key: d.key, retryInMs: delay },
        'could not delete a stored object, will retry',
      );
    }
  }

  return createWorker<MediaDeletionTable>({
    name: 'media-deletion',
    // Settled deletions are removed when they settle: nothing to prune.
    options: { concurrency: o.concurrency, pollIntervalMs: o.pollIntervalMs, retentionMs: Number.MAX_SAFE_INTEGER },
    claim: (limit: number) => {
      const now = clock.now().getTime();
      return claimDueDeletions(store, { owner, now: iso(now), leaseUntil: iso(now + o.leaseMs), limit });
    },
    run,
    clock,
    logger: deps.logger,
  });
}
