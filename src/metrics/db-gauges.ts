import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import {
  oldestPendingDelivery,
  oldestPendingPersistJob,
  unpersistedExpiringBetween,
} from '../store/repositories/metrics-ages.js';
import { pendingDeletions } from '../store/repositories/media-deletions.js';
import {
  openDeliveriesByState,
  openPersistJobsByState,
  sessionsByStatus,
} from '../store/repositories/metrics-counts.js';

const AT_RISK_WINDOW_MS = 24 * 3_600_000;

/**
 * The gauges read from the database at scrape time, so every process reports the same totals.
 * `cdnLifetimeMs` is how long the CDN keeps a file (media-object.ts), for the media at risk.
 * A scrape must not fail with the database: a series whose query failed is absent from that
 * scrape, and a warning is logged. With WORKERS > 1 the workers' values are merged by `max`
 * (they are the same counts), not summed.
 */
export function registerDbGauges(
  registry: Registry,
  deps: { db: Db; clock: Clock; logger: Logger; cdnLifetimeMs: number },
) {
  const registers = [registry];
  const guarded = async (name: string, read: () => Promise<void>) => {
    try {
      await read();
    } catch (err) {
      deps.logger.warn({ err, metric: name }, 'could not read a metric from the database');
    }
  };
  const byLabel = (
    name: string,
    help: string,
    label: string,
    count: () => Promise<Map<string, number>>,
    labels: readonly string[],
  ) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers,
      aggregator: 'max',
      async collect() {
        this.reset();
        await guarded(name, async () => {
          const counts = await count();
          for (const l of new Set([...labels, ...counts.keys()])) this.set({ [label]: l }, counts.get(l) ?? 0);
        });
      },
    });
  const single = (name: string, help: string, read: () => Promise<number>) =>
    new Gauge({
      name,
      help,
      registers,
      aggregator: 'max',
      async collect() {
        this.reset();
        await guarded(name, async () => this.set(await read()));
      },
    });
  const ageOf = async (oldest: () => Promise<string | null>) => {
    const at = await oldest();
    return at === null ? 0 : Math.max(0, (deps.clock.now().getTime() - Date.parse(at)) / 1000);
  };

  byLabel('titan_sessions', 'WhatsApp sessions by status (all accounts)', 'status', () => sessionsByStatus(deps.db), [
    'CONNECTED',
    'CONNECTING',
    'DISCONNECTED',
  ]);
  byLabel(
    'titan_webhook_deliveries',
    'Webhook deliveries waiting (held for auto-persist, pending) or failed for good and still in the log',
    'state',
    () => openDeliveriesByState(deps.db),
    ['held', 'pending', 'failed'],
  );
  byLabel(
    'titan_auto_persist_jobs',
    'Auto-persist jobs waiting to run (pending) or given up on and still kept (failed)',
    'state',
    () => openPersistJobsByState(deps.db),
    ['pending', 'failed'],
  );
  single(
    'titan_webhook_oldest_pending_age_seconds',
    'Age of the oldest webhook delivery still pending (0 when none)',
    () => ageOf(() => oldestPendingDelivery(deps.db)),
  );
  single(
    'titan_auto_persist_backlog_age_seconds',
    'Age of the oldest auto-persist job still waiting to run (0 when none)',
    () => ageOf(() => oldestPendingPersistJob(deps.db)),
  );
  single('titan_media_at_risk', 'Unpersisted media whose CDN copy expires within 24 hours (all accounts)', async () => {
    const now = deps.clock.now().getTime();
    return unpersistedExpiringBetween(deps.db, now, now + AT_RISK_WINDOW_MS, deps.cdnLifetimeMs);
  });
  single(
    'titan_media_object_deletions_pending',
    'Bucket objects queued for deletion and not deleted yet (all accounts)',
    () => pendingDeletions(deps.db),
  );
}
