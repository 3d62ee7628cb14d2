import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { AppError, BusyError } from '../errors.js';
import { chainHooks, type PersistHook, type PersistService } from '../media/persist-service.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/db.js';
import { findAccountMedia } from '../store/repositories/media.js';
import {
  claimDueJobs,
  dueJobAccounts,
  pruneJobs,
  renewJobLease,
  updateLeasedJob,
} from '../store/repositories/persist-jobs.js';
import type { PersistJobTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';
import type { PersistJobs } from './persist-jobs.js';
import { createWorker, type Worker } from '../workers/polling-worker.js';

export interface PersistRunnerOptions {
  concurrency: number;
  /** Runs per job before it gives up. */
  attempts: number;
  /** Wait after the first failed run; doubled after each further one. */
  retryDelayMs: number;
  pollIntervalMs: number;
  /** A claim lasts this long and is renewed every third of it while the job runs. */
  leaseMs: number;
  /** Ended jobs are kept this long. */
  retentionMs: number;
}

// Failures worth another run: the CDN or the bucket may well work later.
const RETRYABLE = new Set(['CDN_UNAVAILABLE', 'STORAGE_FAILED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR']);
const retryable = (err: unknown) => !(err instanceof AppError) || RETRYABLE.has(err.code);
const MAX_DELAY_MS = 3_600_000;
const BUSY_DELAY_MS = 1_000;

/**
 * Runs auto-persist jobs with the persist service: claimed with a renewed lease, retried with
 * exponential backoff, given up after the configured runs. A job whose earlier run died (more
 * claims than recorded runs) first aborts the multipart upload that run left open.
 */
export function createPersistRunner(deps: {
  store: Store;
  clock: Clock;
  owner: string;
  options: PersistRunnerOptions;
  jobs: PersistJobs;
  /** The webhook events of a persist outcome. */
  events: PersistHook;
  buckets: Buckets;
  persist: PersistService;
  /** Called after a job's result committed (its events may be due). */
  onEnded: () => void;
  logger: Logger;
  metrics: Metrics;
}): Worker {
  const { store, clock, owner, options: o } = deps;
  const db = store.db;
  const iso = (ms: number) => new Date(ms).toISOString();

  // Fair shares: no account runs more than half the workers, and free workers go round the
  // accounts with due jobs (fewest running first), so one account's backlog or stuck proxy
  // cannot hold back another's jobs.
  const perAccount = Math.max(1, Math.ceil(o.concurrency / 2));
  const running = new Map<string, number>();
  const count = (accountId: string, d: number) => {
    const n = (running.get(accountId) ?? 0) + d;
    if (n > 0) running.set(accountId, n);
    else running.delete(accountId);
  };

  async function claim(limit: number) {
    const now = clock.now().getTime();
    const lease = { owner, now: iso(now), leaseUntil: iso(now + o.leaseMs) };
    const accounts = (await dueJobAccounts(db, lease.now, 100)).filter((a) => (running.get(a) ?? 0) < perAccount);
    accounts.sort((a, b) => (running.get(a) ?? 0) - (running.get(b) ?? 0));
    const claimed: PersistJobTable[] = [];
    for (let progressed = true; progressed && claimed.length < limit;) {
      progressed = false;
      for (const accountId of accounts) {
        if (claimed.length >= limit || (running.get(accountId) ?? 0) >= perAccount) continue;
        const [job] = await claimDueJobs(store, { ...lease, limit: 1, accountId });
        if (!job) continue;
        count(accountId, 1);
        claimed.push(job);
        progressed = true;
      }
    }
    return claimed;
  }

  async function cleanUp(job: PersistJobTable) {
    const media = await findAccountMedia(db, job.account_id, job.media_id);
    const bucket = media && !media.persisted_at ? await deps.buckets.bucketFor(job.account_id) : null;
    if (!media || !bucket) return;
    const key = bucket.keyFor({
      session: job.session_name,
      mediaId: media.id,
      mimeType: media.mime_type,
      createdAt: media.created_at,
      fileName: media.file_name,
    });
    deps.logger.info(
      { mediaId: media.id, key },
      'an earlier run of this auto-persist died: aborting the multipart upload it left open',
    );
    await bucket.abortLeftovers(key);
  }

  async function run(job: PersistJobTable) {
    const heartbeat = setInterval(() => {
      renewJobLease(db, job.id, owner, iso(clock.now().getTime() + o.leaseMs))
        .then((held) => held || deps.logger.warn({ jobId: job.id }, 'auto-persist job lease lost'))
        .catch((err: unknown) => deps.logger.warn({ err, jobId: job.id }, 'could not renew an auto-persist lease'));
    }, o.leaseMs / 3);
    const last = job.attempts + 1 >= o.attempts;
    const isFinal = (err: unknown) => !worker.stopping && !(err instanceof BusyError) && (last || !retryable(err));
    // The job ends exactly once: in the transaction of the outcome of the upload this run
    // started, else (stored before, joined another call's upload, or failed before any upload)
    // in one of its own.
    let ended = false;
    const endJob: PersistHook = async (trx, outcome) => {
      await deps.jobs.end(trx, job.media_id, outcome);
      ended = true;
    };
    try {
      // claims was incremented by this claim: any surplus over recorded runs is a run that died.
      if (job.claims - 1 > job.attempts) await cleanUp(job);
      const trigger = job.trigger === 'expiry' ? 'expiry' : 'auto';
      const result = await deps.persist.persist(job.account_id, job.session_name, job.media_id, {
        trigger,
        isFinalFailure: isFinal,
        hook: chainHooks(deps.events, endJob),
        jobId: job.id,
      });
      if (!ended) await db.transaction().execute((trx) => deps.jobs.end(trx, job.media_id, { ok: true, result }));
      deps.metrics.autoPersistRun('stored');
      deps.onEnded();
    } catch (err) {
      await settle(job, err, isFinal(err), ended);
    } finally {
      clearInterval(heartbeat);
      count(job.account_id, -1);
    }
  }

  async function settle(job: PersistJobTable, err: unknown, final: boolean, ended: boolean) {
    const now = clock.now().getTime();
    if (worker.stopping) {
      // Cut short by shutdown: give the job back untouched; the next start runs it again.
      await updateLeasedJob(db, job.id, owner, {});
      deps.metrics.autoPersistRun('interrupted');
    } else if (err instanceof BusyError) {
      await updateLeasedJob(db, job.id, owner, { next_run_at: iso(now + BUSY_DELAY_MS), updated_at: iso(now) });
      deps.metrics.autoPersistRun('busy');
    } else if (final) {
      if (!ended) await db.transaction().execute((trx) => deps.jobs.end(trx, job.media_id, { ok: false, error: err }));
      deps.metrics.autoPersistRun('gave_up');
      deps.logger.warn({ err, jobId: job.id, mediaId: job.media_id }, 'auto-persist gave up');
      deps.onEnded();
    } else {
      const delay = Math.min(o.retryDelayMs * 2 ** Math.min(job.attempts, 30), MAX_DELAY_MS);
      const e =
        err instanceof AppError
          ? { code: err.code, message: err.message }
          : { code: 'INTERNAL_ERROR', message: String(err) };
      await updateLeasedJob(db, job.id, owner, {
        attempts: job.attempts + 1,
        next_run_at: iso(now + delay),
        last_error_code: e.code,
        last_error: e.message,
        updated_at: iso(now),
      });
      deps.metrics.autoPersistRun('retry');
      deps.logger.info(
        { err, jobId: job.id, mediaId: job.media_id, retryInMs: delay },
        'auto-persist failed, will retry',
      );
    }
  }

  const prune = { what: 'ended auto-persist jobs', run: (before: string) => pruneJobs(db, before) };
  const worker: Worker = createWorker<PersistJobTable>({
    name: 'auto-persist',
    options: o,
    clock,
    logger: deps.logger,
    claim,
    run,
    prune,
  });
  // Running uploads are aborted at once on stop (nothing partial stays) and their jobs given back.
  worker.signal.addEventListener('abort', () => deps.persist.abortAll(worker.signal.reason), { once: true });
  return worker;
}
