import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { MediaDeletedError, S3NotConfiguredError } from '../errors.js';
import type { Db, Trx } from '../store/db.js';
import { recordPersisted } from '../store/repositories/media.js';
import { queueObjectDeletions } from '../store/repositories/media-deletions.js';
import { encodedFileName } from '../storage/object-naming.js';
import { mediaDisposition, namedMedia } from './media-object.js';
import type { MediaTable, SessionTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';
import type { MediaLookup } from './media-lookup.js';
import type { MediaSource } from './media-source.js';

export interface PersistResult {
  url: string;
  key: string;
  bucket: string;
  size: number;
  mimeType: string;
  sha256: string | null;
}

export type PersistTrigger = 'request' | 'auto' | 'expiry';

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
      return { url: await bucket.url(ref, mediaDisposition(row)), ...ref, size: row.s3_size ?? 0, mimeType: row.mime_type, sha256: row.sha256 };
    }
    const key = bucket.keyFor({ session: session.name, mediaId: row.id, mimeType: row.mime_type, createdAt: row.created_at, fileName: row.file_name });
    const plain = await deps.source.open(accountId, session, row, { signal: lifetime.signal });
    // The claimed hash is checked while streaming (a mismatch aborts), so it may label the object.
    const knownSha = row.sha256 ?? row.file_sha256;
    const ref = await bucket.upload({
      key,
      body: plain.body,
      contentType: row.mime_type,
      // Only documents carry it on the object: a photo opened from the bucket shows inline.
      contentDisposition: row.type === 'document' ? mediaDisposition(row) : undefined,
      metadata: {
        'media-id': row.id,
        session: session.name,
        'message-id': row.message_id,
        type: row.type,
        'file-name': encodedFileName(namedMedia(row)),
        ...(knownSha ? { sha256: knownSha } : {}),
      },
      signal: lifetime.signal,
    });
    const verified = await plain.verified;
    const sha256 = verified?.sha256 ?? knownSha;
    const size = verified?.length ?? row.file_length ?? 0;
    const now = deps.clock.now().toISOString();
    const result = { url: await bucket.url(ref, mediaDisposition(row)), ...ref, size, mimeType: row.mime_type, sha256 };
    const patch = { persisted_at: now, s3_bucket: ref.bucket, s3_key: ref.key, s3_size: size, sha256, updated_at: now };
    // The media row and whatever the hook writes (events, job state) commit together.
    const recorded = await deps.db.transaction().execute(async (trx) => {
      // Deleted while uploading: the fresh object must not outlive the owner's delete.
      if (!(await recordPersisted(trx, row.id, patch))) {
        await queueObjectDeletions(trx, [{ accountId, mediaId: row.id, ...ref }], 'delete', now);
        return false;
      }
      await opts.hook?.(trx, { ok: true, trigger, accountId, session: session.name, media: { ...row, ...patch }, result });
      return true;
    });
    if (!recorded) throw new MediaDeletedError(now);
    deps.logger.info({ mediaId: row.id, ...ref, size }, 'media persisted');
    return result;
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
