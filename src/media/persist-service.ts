import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { S3NotConfiguredError } from '../errors.js';
import type { Db, Trx } from '../store/db.js';
import { updateMedia } from '../store/repositories/media.js';
import type { MediaTable, SessionTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';
import type { MediaLookup } from './media-lookup.js';
import type { MediaSource } from './media-source.js';
import type { TransferAccounts } from './transfer-account.js';

export interface PersistResult {
  url: string;
  key: string;
  bucket: string;
  size: number;
  mimeType: string;
  sha256: string | null;
}

export type PersistTrigger = 'request' | 'auto';

/** How a persist ended, as its hook sees it inside the transaction that records it. */
export type PersistOutcome = { trigger: PersistTrigger; accountId: string; session: string; media: MediaTable } & (
  | { ok: true; result: PersistResult }
  | { ok: false; error: unknown }
);

/**
 * Runs inside the transaction that records a persist's outcome, so what it writes (the webhook
 * event, the job's end) commits or rolls back with the media row.
 */
export type PersistHook = (trx: Trx, outcome: PersistOutcome) => Promise<void>;

/** One hook that runs `hooks` in order. */
export const chainHooks =
  (...hooks: PersistHook[]): PersistHook =>
  async (trx, outcome) => {
    for (const h of hooks) await h(trx, outcome);
  };

export interface PersistOptions {
  /** Who asked: an API call (default) or an auto-persist job. */
  trigger?: PersistTrigger;
  /** Whether a failure is the last word (reported to the hook); default: every failure is. */
  isFinalFailure?: (err: unknown) => boolean;
  /**
   * Runs in the transaction of the outcome of the upload this call started: the stored media
   * row, or a final failure. Not run when the media was already stored or the call joined an
   * upload another call started (that call's hook runs).
   */
  hook?: PersistHook;
  /** The HTTP request or the auto-persist job asking, named in the transfer's log line. */
  requestId?: string;
  jobId?: string;
}

export type PersistService = ReturnType<typeof createPersistService>;

/**
 * Copies media into the account's bucket: CDN → decrypt/verify → multipart upload, streamed.
 * Idempotent (a persisted media answers with its object) and single-flight per media.
 */
export function createPersistService(deps: {
  db: Db;
  clock: Clock;
  lookup: MediaLookup;
  source: MediaSource;
  buckets: Buckets;
  transfers: TransferAccounts;
  logger: Logger;
}) {
  const inflight = new Map<string, Promise<PersistResult>>();
  // Aborted on shutdown so running uploads are aborted, not left half-done.
  const lifetime = new AbortController();

  async function run(accountId: string, session: Pick<SessionTable, 'name' | 'proxy'>, row: MediaTable, opts: PersistOptions = {}): Promise<PersistResult> {
    const trigger = opts.trigger ?? 'request';
    const bucket = await deps.buckets.bucketFor(accountId);
    if (!bucket) throw new S3NotConfiguredError();
    if (row.persisted_at && row.s3_key && row.s3_bucket) {
      const ref = { bucket: row.s3_bucket, key: row.s3_key };
      return { url: await bucket.url(ref), ...ref, size: row.s3_size ?? 0, mimeType: row.mime_type, sha256: row.sha256 };
    }
    const key = bucket.keyFor({ session: session.name, mediaId: row.id, mimeType: row.mime_type, createdAt: row.created_at });
    // Started before the source may refuse (too large, busy), so refusals are accounted too.
    const account = deps.transfers.start({
      kind: trigger === 'auto' ? 'auto-persist' : 'persist',
      mediaId: row.id,
      session: session.name,
      accountId,
      requestId: opts.requestId,
      jobId: opts.jobId,
      throughProxy: session.proxy !== null,
    });
    try {
      const plain = await deps.source.open(accountId, session, row, { signal: lifetime.signal });
      account.opened(plain.source);
      // The claimed hash is checked while streaming (a mismatch aborts), so it may label the object.
      const knownSha = row.sha256 ?? row.file_sha256;
      const ref = await bucket.upload({
        key,
        // s3_out is counted per request by the S3 clients (storage/s3-request-metrics.ts).
        body: account.deliver(plain.body, { directions: [], ends: false }),
        contentType: row.mime_type,
        metadata: { 'media-id': row.id, session: session.name, 'message-id': row.message_id, ...(knownSha ? { sha256: knownSha } : {}) },
        signal: lifetime.signal,
      });
      const verified = await plain.verified;
      const sha256 = verified?.sha256 ?? knownSha;
      const size = verified?.length ?? row.file_length ?? 0;
      const now = deps.clock.now().toISOString();
      const result = { url: await bucket.url(ref), ...ref, size, mimeType: row.mime_type, sha256 };
      const patch = { persisted_at: now, s3_bucket: ref.bucket, s3_key: ref.key, s3_size: size, sha256, updated_at: now };
      // The media row and whatever the hook writes (events, job state) commit together.
      await deps.db.transaction().execute(async (trx) => {
        await updateMedia(trx, row.id, patch);
        await opts.hook?.(trx, { ok: true, trigger, accountId, session: session.name, media: { ...row, ...patch }, result });
      });
      account.end();
      deps.logger.info({ mediaId: row.id, ...ref, size }, 'media persisted');
      return result;
    } catch (err) {
      account.end(err);
      throw err;
    }
  }

  /** Hands a final failure to the hook, in a transaction of its own. */
  async function reportFailure(hook: PersistHook, accountId: string, session: string, row: MediaTable, trigger: PersistTrigger, error: unknown) {
    try {
      await deps.db.transaction().execute((trx) => hook(trx, { ok: false, trigger, accountId, session, media: row, error }));
    } catch (err) {
      deps.logger.error({ err, mediaId: row.id }, 'could not record the persist failure');
    }
  }

  return {
    /**
     * Persists one media (or answers with the stored object); concurrent calls share one upload
     * (and the options and hook of the call that started it).
     */
    async persist(accountId: string, sessionName: string, mediaId: string, opts: PersistOptions = {}): Promise<PersistResult> {
      const { session, row } = await deps.lookup(accountId, sessionName, mediaId);
      if (row.persisted_at) return run(accountId, session, row);
      let p = inflight.get(row.id);
      if (!p) {
        const hook = opts.hook;
        p = run(accountId, session, row, opts)
          .catch(async (err: unknown) => {
            if (hook && (opts.isFinalFailure?.(err) ?? true)) await reportFailure(hook, accountId, session.name, row, opts.trigger ?? 'request', err);
            throw err;
          })
          .finally(() => inflight.delete(row.id));
        inflight.set(row.id, p);
      }
      return p;
    },
    /** Aborts uploads still running (shutdown). */
    abortAll(reason: unknown) {
      lifetime.abort(reason);
    },
  };
}
