import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/db.js';
import {
  accountsWithOwnBucket,
  deleteClaim,
  liveUploadKeys,
  pruneFailedUploads,
  updateClaim,
  uploadsToSweep,
} from '../store/repositories/uploads.js';
import type { UploadTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';

export interface UploadSweeperOptions {
  leaseMs: number;
  intervalMs: number;
  /** Multipart uploads under our prefix older than this, and unknown to the database, are aborted. */
  strayAgeMs: number;
  /** Count strays (in the log) without aborting them. */
  dryRun: boolean;
}

const BATCH = 100;
const FAILED_RETENTION_MS = 3_600_000;

/**
 * Runs in every process (and at start-up): aborts recorded uploads whose owner's lease lapsed
 * (the owner died, or could not confirm its abort), and lists and aborts stray multipart uploads
 * under our key prefix that no record explains (a crash before the record, a restored database).
 */
export function createUploadSweeper(deps: {
  db: Db;
  clock: Clock;
  owner: string;
  buckets: Buckets;
  options: UploadSweeperOptions;
  logger: Logger;
  metrics: Metrics;
}) {
  const { db, options: o } = deps;
  const logger = deps.logger.child({ component: 'upload-sweeper' });
  const iso = (ms: number) => new Date(ms).toISOString();
  // Listing every bucket is dearer than reading one table: strays are looked for less often.
  const strayEveryMs = Math.max(o.intervalMs, Math.min(o.strayAgeMs / 4, 3_600_000));
  let lastStrays = 0;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> = Promise.resolve();
  let stopped = false;

  /** Takes one row over (so no other sweeper works on it), aborts its upload, settles the row. */
  async function sweepOne(u: UploadTable): Promise<boolean> {
    const now = deps.clock.now().getTime();
    const claimId = randomBytes(9).toString('base64url');
    const took = await updateClaim(db, u.media_id, u.claim_id, {
      claim_id: claimId,
      owner: deps.owner,
      lease_expires_at: iso(now + o.leaseMs),
      updated_at: iso(now),
    });
    if (!took) return false;
    const bucket = await deps.buckets.bucketFor(u.account_id);
    // No bucket configured any more: nothing this server could still reach.
    const ok = bucket ? await bucket.abortUpload(u, AbortSignal.timeout(o.leaseMs)) : true;
    if (ok && u.state === 'running') await deleteClaim(db, u.media_id, claimId);
    else if (ok) await updateClaim(db, u.media_id, claimId, { needs_abort: 0, updated_at: iso(now) });
    // Not confirmed (the storage is down): lapsed again, so the next sweep (anywhere) retries.
    else await updateClaim(db, u.media_id, claimId, { lease_expires_at: iso(0) });
    if (ok)
      logger.info(
        { mediaId: u.media_id, bucket: u.bucket, key: u.object_key, uploadId: u.upload_id, owner: u.owner },
        'aborted an upload left open by its owner',
      );
    else
      logger.warn(
        { mediaId: u.media_id, bucket: u.bucket, key: u.object_key },
        'could not abort an upload left open: will retry',
      );
    return ok;
  }

  async function sweep(): Promise<void> {
    const now = deps.clock.now().getTime();
    let lapsed = 0;
    for (const u of await uploadsToSweep(db, iso(now), BATCH)) {
      if (stopped) return;
      if (
        await sweepOne(u).catch(
          (err: unknown) => void logger.warn({ err, mediaId: u.media_id }, 'could not sweep an upload'),
        )
      )
        lapsed++;
    }
    deps.metrics.uploadsSwept('lapsed', lapsed);
    await pruneFailedUploads(db, iso(now - FAILED_RETENTION_MS));
    if (now - lastStrays >= strayEveryMs) {
      lastStrays = now;
      const seen = new Set<string>();
      const live = await liveUploadKeys(db, iso(now));
      // No account has the id '': it resolves to the server default bucket, when there is one.
      for (const accountId of ['', ...(await accountsWithOwnBucket(db))]) {
        if (stopped) return;
        const bucket = await deps.buckets.bucketFor(accountId);
        if (!bucket || seen.has(bucket.identity)) continue;
        seen.add(bucket.identity);
        const r = await bucket.abortStrays({ olderThan: new Date(now - o.strayAgeMs), live, dryRun: o.dryRun });
        const where = { bucket: bucket.name, prefix: bucket.keyPrefix };
        if (r.error) logger.warn({ ...where, err: r.error }, 'could not list stray multipart uploads');
        if (r.found > 0 || o.dryRun) {
          logger[o.dryRun ? 'info' : 'warn'](
            { ...where, found: r.found, aborted: r.aborted, dryRun: o.dryRun },
            o.dryRun ? 'stray multipart uploads found (dry run: none aborted)' : 'aborted stray multipart uploads',
          );
        }
        deps.metrics.uploadsSwept('stray', r.aborted);
      }
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      current = sweep()
        .catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'))
        .finally(schedule);
    }, o.intervalMs);
    timer.unref();
  }

  return {
    /** Sweeps now (start-up), then every interval. */
    start() {
      stopped = false;
      current = sweep()
        .catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'))
        .finally(schedule);
    },
    /** One sweep, now (tests and operators' scripts). */
    sweepNow: () => sweep(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
