import type { Logger } from 'pino';
import {
  KEEP_EVERYTHING,
  PERSIST_BEFORE_EXPIRY_OFF,
  type PersistBeforeExpiry,
  type Retention,
} from '../accounts/settings-service.js';
import type { Buckets } from '../storage/buckets.js';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Store, Trx } from '../store/db.js';
import * as repo from '../store/repositories/lifecycle.js';
import { queueObjectDeletions } from '../store/repositories/media-deletions.js';
import { claimSweep, releaseSweep } from '../store/repositories/sweep-claims.js';
import type { NewPersistJob } from '../webhooks/listeners.js';

export interface LifecycleOptions {
  /** Time between sweeps (a sweep that filled a batch goes again right away). */
  intervalMs: number;
  /** Rows per step and account in one sweep. */
  batchSize: number;
  /** Never-persisted media keep their key this long after the CDN copy's estimated end. */
  keyWipeGraceMs: number;
  /** How long a sweep's claim lasts: a process killed mid-sweep lets it lapse. */
  leaseMs: number;
}

const SWEEP = 'media-lifecycle';
const DAY_MS = 86_400_000;

/**
 * The media lifecycle sweep, run by every process and by one at a time (a claim row in the
 * database): queues persist-before-expiry jobs, wipes the keys of media that expired unpersisted,
 * and applies each account's retention. Every step is a bounded batch that commits on its own
 * and can run again, so a sweep killed half-way is simply finished by the next one.
 */
export function createLifecycleSweep(deps: {
  store: Store;
  clock: Clock;
  owner: string;
  options: LifecycleOptions;
  buckets: Buckets;
  enqueuePersist: (trx: Trx, job: NewPersistJob) => Promise<void>;
  /** Tell the workers that work was queued. */
  wakePersist: () => void;
  wakeDeletions: () => void;
  logger: Logger;
  metrics: Metrics;
}) {
  const { store, clock, owner, options: o } = deps;
  const db = store.db;
  const iso = (ms: number) => new Date(ms).toISOString();
  let timer: NodeJS.Timeout | null = null;
  let active = false;
  let current: Promise<void> = Promise.resolve();

  /** Queues the persist of media whose CDN copy ends within each account's window, accounts taking turns. */
  async function persistBeforeExpiry(
    accounts: { id: string; pbe: PersistBeforeExpiry }[],
    now: number,
  ): Promise<boolean> {
    const lists: { id: string; session: string; accountId: string }[][] = [];
    for (const a of accounts) {
      if (!a.pbe.enabled || !(await deps.buckets.bucketFor(a.id))) continue;
      const rows = await repo.expiringUnpersisted(
        db,
        a.id,
        iso(now),
        iso(now + a.pbe.hoursBefore * 3_600_000),
        o.batchSize,
      );
      lists.push(rows.map((r) => ({ ...r, accountId: a.id })));
    }
    let queued = 0;
    // Round-robin run times: the persist runner claims by due time, so no account starves another.
    for (let turn = 0; lists.some((l) => l.length > turn); turn++) {
      for (const l of lists) {
        const m = l[turn];
        if (!m) continue;
        await db.transaction().execute(async (trx) => {
          if (!(await repo.markExpiryQueued(trx, m.id, iso(now)))) return;
          await deps.enqueuePersist(trx, {
            accountId: m.accountId,
            mediaId: m.id,
            sessionName: m.session,
            eventId: null,
            trigger: 'expiry',
            runAt: iso(now + turn),
          });
          queued++;
        });
      }
    }
    if (queued > 0) {
      deps.metrics.lifecycle('expiry_persist_queued', queued);
      deps.wakePersist();
    }
    return lists.some((l) => l.length === o.batchSize);
  }

  async function wipeExpiredKeys(now: number): Promise<boolean> {
    const ids = (await repo.keysToWipe(db, iso(now - o.keyWipeGraceMs), o.batchSize)).map((r) => r.id);
    const n = await repo.wipeKeys(db, ids, iso(now));
    if (n > 0) {
      deps.metrics.lifecycle('key_wiped', n);
      deps.logger.info({ count: n }, 'wiped the keys of media that expired on the CDN unpersisted');
    }
    return ids.length === o.batchSize;
  }

  async function applyRetention(accounts: { id: string; retention: Retention }[], now: number): Promise<boolean> {
    let more = false;
    for (const { id, retention: r } of accounts) {
      if (r.persistedDays !== null) {
        const rows = await repo.objectsStoredBefore(db, id, iso(now - r.persistedDays * DAY_MS), o.batchSize);
        await db.transaction().execute(async (trx) => {
          await queueObjectDeletions(
            trx,
            rows.map((x) => ({ accountId: id, mediaId: x.id, bucket: x.s3_bucket!, key: x.s3_key! })),
            'retention',
            iso(now),
          );
          await repo.forgetObjects(
            trx,
            rows.map((x) => x.id),
            iso(now),
          );
        });
        if (rows.length > 0) deps.metrics.lifecycle('object_expired', rows.length);
        more ||= rows.length === o.batchSize;
      }
      if (r.recordsDays !== null) {
        const rows = await repo.recordsBefore(db, id, iso(now - r.recordsDays * DAY_MS), o.batchSize);
        // An object outliving its record could never be reached by object retention again.
        const orphans = r.persistedDays === null ? [] : rows.filter((x) => x.s3_key && x.s3_bucket);
        const n = await db.transaction().execute(async (trx) => {
          await queueObjectDeletions(
            trx,
            orphans.map((x) => ({ accountId: id, mediaId: null, bucket: x.s3_bucket!, key: x.s3_key! })),
            'retention',
            iso(now),
          );
          return repo.removeRecords(
            trx,
            rows.map((x) => x.id),
          );
        });
        if (n > 0) deps.metrics.lifecycle('record_removed', n);
        more ||= rows.length === o.batchSize;
      }
    }
    return more;
  }

  /** One sweep, if no other process is sweeping; true when a batch was full (more is due). */
  async function sweep(): Promise<boolean> {
    const now = clock.now().getTime();
    if (!(await claimSweep(db, SWEEP, owner, iso(now), iso(now + o.leaseMs)))) return false;
    try {
      const accounts = (await repo.lifecycleSettings(db)).map((s) => ({
        id: s.account_id,
        pbe: s.persist_before_expiry
          ? (JSON.parse(s.persist_before_expiry) as PersistBeforeExpiry)
          : PERSIST_BEFORE_EXPIRY_OFF,
        retention: s.retention ? (JSON.parse(s.retention) as Retention) : KEEP_EVERYTHING,
      }));
      const more = [
        await persistBeforeExpiry(accounts, now),
        await wipeExpiredKeys(now),
        await applyRetention(accounts, now),
      ];
      deps.wakeDeletions();
      return more.some(Boolean);
    } finally {
      await releaseSweep(db, SWEEP, owner, clock.now().toISOString());
    }
  }

  function schedule(ms: number) {
    if (!active) return;
    timer = setTimeout(() => {
      current = sweep()
        .then((more) => schedule(more ? 0 : o.intervalMs))
        .catch((err: unknown) => {
          deps.logger.error({ err }, 'media lifecycle sweep failed');
          schedule(o.intervalMs);
        });
    }, ms);
    timer.unref();
  }

  return {
    start() {
      if (active) return;
      active = true;
      schedule(Math.min(o.intervalMs, 1_000));
    },
    /** Stops sweeping; resolves once a running sweep has finished its batch. */
    async stop() {
      active = false;
      if (timer) clearTimeout(timer);
      await current.catch(() => undefined);
    },
    sweep,
  };
}
