import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { PersistHook } from '../media/persist-service.js';
import type { Trx } from '../store/db.js';
import { finishPendingJob, insertPersistJobIfAbsent } from '../store/repositories/persist-jobs.js';
import { errorInfo } from '../webhooks/events.js';
import type { NewPersistJob } from '../webhooks/listeners.js';
import type { Outbox } from '../webhooks/outbox.js';

export type PersistJobs = ReturnType<typeof createPersistJobs>;

/**
 * The durable side of auto-persist: jobs are queued in the ingest transaction, and a job ends
 * in the very transaction that records the persist result, which also releases the held
 * `message.received` with `mediaUrl` (stored) or `persistError` (given up).
 */
export function createPersistJobs(deps: { clock: Clock; outbox: Outbox }) {
  const now = () => deps.clock.now().toISOString();

  /** Ends the media's pending job as stored, releasing its event with the object's URL. */
  async function succeeded(trx: Trx, mediaId: string, mediaUrl: string): Promise<boolean> {
    const job = await finishPendingJob(trx, mediaId, () => ({
      state: 'done',
      last_error_code: null,
      last_error: null,
      updated_at: now(),
    }));
    if (job?.event_id) await deps.outbox.release(trx, job.event_id, { mediaUrl });
    return job !== null;
  }

  /** Ends the media's pending job as given up, releasing its event with the reason. */
  async function gaveUp(trx: Trx, mediaId: string, error: unknown): Promise<boolean> {
    const info = errorInfo(error);
    const job = await finishPendingJob(trx, mediaId, (j) => ({
      state: 'failed',
      attempts: j.attempts + 1,
      last_error_code: info.code,
      last_error: info.message,
      updated_at: now(),
    }));
    if (job?.event_id) await deps.outbox.release(trx, job.event_id, { persistError: info });
    return job !== null;
  }

  /** An API call that stored the media first ends its pending job (its failures do not). */
  const afterRequest: PersistHook = async (trx, o) => {
    if (o.ok) await succeeded(trx, o.media.id, o.result.url);
  };

  return {
    succeeded,
    gaveUp,
    afterRequest,
    /** Ends the job of a run by its outcome: stored, or given up. */
    end: (trx: Trx, mediaId: string, o: { ok: true; result: { url: string } } | { ok: false; error: unknown }) =>
      o.ok ? succeeded(trx, mediaId, o.result.url) : gaveUp(trx, mediaId, o.error),

    /** Queues the auto-persist of a media inside the caller's (ingest) transaction. */
    enqueue: async (trx: Trx, j: NewPersistJob): Promise<void> => {
      const at = now();
      await insertPersistJobIfAbsent(trx, {
        id: newId('job_'),
        account_id: j.accountId,
        media_id: j.mediaId,
        session_name: j.sessionName,
        event_id: j.eventId,
        state: 'pending',
        attempts: 0,
        claims: 0,
        next_run_at: j.runAt ?? at,
        lease_owner: null,
        lease_expires_at: null,
        last_error_code: null,
        last_error: null,
        created_at: at,
        updated_at: at,
        trigger: j.trigger ?? 'auto',
      });
    },
  };
}
