import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from './clock.js';
import { registerDbGauges } from './metrics/db-gauges.js';
import { createMediaMetrics } from './metrics/media-metrics.js';
import type { Db } from './store/db.js';
import { VERSION } from './version.js';

export type WebhookOutcome = 'delivered' | 'retry' | 'failed';
export type AutoPersistOutcome = 'stored' | 'retry' | 'gave_up' | 'busy' | 'interrupted';
export type LifecycleStep =
  'expiry_persist_queued' | 'key_wiped' | 'object_expired' | 'record_removed' | 'media_deleted';
const LIFECYCLE_STEPS: LifecycleStep[] = [
  'expiry_persist_queued',
  'key_wiped',
  'object_expired',
  'record_removed',
  'media_deleted',
];

// prom-client's totals of these are gauges named like counters (promtool rejects the `_total`
// suffix); the same values stay available as `nodejs_active_handles` etc. by type.
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * The Prometheus registry and what the services record into it. Counters count what this
 * process did (a cluster's scrape sums them over the workers: cluster/metrics-hub.ts); the
 * gauges of metrics/db-gauges.ts are read from the database at scrape time, so every process
 * reports the same totals.
 */
export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  new Gauge({
    name: 'titan_build_info',
    help: 'Always 1; the labels tell the version of titan-media and of Node.js',
    labelNames: ['version', 'node'] as const,
    registers,
    // Every worker of a cluster says the same.
    aggregator: 'first',
  }).set({ version: VERSION, node: process.versions.node }, 1);
  const webhookAttempts = new Counter({
    name: 'titan_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered, retry (failed, another attempt is scheduled), failed (failed for good)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const webhookAttemptSeconds = new Histogram({
    name: 'titan_webhook_attempt_duration_seconds',
    help: "Time from sending a webhook request to the receiver's answer (or the error)",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const autoPersistRuns = new Counter({
    name: 'titan_auto_persist_runs_total',
    help: 'Auto-persist job runs by outcome: stored, retry (failed, will run again), gave_up, busy (no transfer slot), interrupted (shutdown)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const lifecycle = new Counter({
    name: 'titan_media_lifecycle_total',
    help: 'Media lifecycle actions by step: expiry_persist_queued, key_wiped, object_expired (retention queued the object deletion), record_removed (retention), media_deleted (DELETE)',
    labelNames: ['step'] as const,
    registers,
  });
  const objectDeletions = new Counter({
    name: 'titan_media_object_deletions_total',
    help: 'Bucket object deletions by reason (delete, retention, session) and outcome (deleted, retry)',
    labelNames: ['reason', 'outcome'] as const,
    registers,
  });
  for (const step of LIFECYCLE_STEPS) lifecycle.inc({ step }, 0);
  for (const reason of ['delete', 'retention', 'session'])
    for (const outcome of ['deleted', 'retry']) objectDeletions.inc({ reason, outcome }, 0);
  const objectsVanished = new Counter({
    name: 'titan_media_objects_vanished_total',
    help: 'Persisted objects found gone from their bucket (the media was marked unpersisted again)',
    registers,
  });
  const uploadsSwept = new Counter({
    name: 'titan_uploads_swept_total',
    help: 'Multipart uploads aborted by the sweeper: lapsed (their owner died or lost the storage) or stray (old, under our key prefix, unknown to the database)',
    labelNames: ['kind'] as const,
    registers,
  });
  for (const k of ['lapsed', 'stray'] as const) uploadsSwept.inc({ kind: k }, 0);
  const httpErrors = new Counter({
    name: 'titan_http_errors_total',
    help: 'HTTP error answers by error code (the `code` of the JSON body, or of the error that cut a streamed reply)',
    labelNames: ['code'] as const,
    registers,
  });
  for (const o of ['delivered', 'retry', 'failed'] as const) webhookAttempts.inc({ outcome: o }, 0);
  for (const o of ['stored', 'retry', 'gave_up', 'busy', 'interrupted'] as const)
    autoPersistRuns.inc({ outcome: o }, 0);

  return {
    registry,
    media: createMediaMetrics(registry),
    webhookAttempt(outcome: WebhookOutcome, durationMs: number) {
      webhookAttempts.inc({ outcome });
      webhookAttemptSeconds.observe(durationMs / 1000);
    },
    autoPersistRun(outcome: AutoPersistOutcome) {
      autoPersistRuns.inc({ outcome });
    },
    lifecycle(step: LifecycleStep, n = 1) {
      lifecycle.inc({ step }, n);
    },
    objectDeletion(reason: string, outcome: 'deleted' | 'retry') {
      objectDeletions.inc({ reason, outcome });
    },
    objectVanished() {
      objectsVanished.inc();
    },
    uploadsSwept(kind: 'lapsed' | 'stray', n: number) {
      if (n > 0) uploadsSwept.inc({ kind }, n);
    },
    httpError(code: string) {
      httpErrors.inc({ code });
    },
    /** The gauges read at scrape time: database counts and ages, and the transfers in flight. */
    watch(deps: {
      db: Db;
      clock: Clock;
      transfers: { active: number };
      maxTransfers: number;
      logger: Logger;
      cdnLifetimeMs: number;
    }) {
      new Gauge({
        name: 'titan_media_transfers_active',
        help: 'Media downloads and persists in flight in this process',
        registers,
        collect() {
          this.set(deps.transfers.active);
        },
      });
      new Gauge({
        name: 'titan_media_transfers_max',
        help: 'MAX_CONCURRENT_TRANSFERS (per process; summed over the workers): over it, transfers get 503 BUSY',
        registers,
      }).set(deps.maxTransfers);
      registerDbGauges(registry, deps);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
