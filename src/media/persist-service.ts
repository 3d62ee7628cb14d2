import { checkMimeType, dispositionFor } from './content-headers.js';
import type { Logger } from 'pino';
import type { SettingsService } from '../accounts/settings-service.js';
import type { Clock } from '../clock.js';
import { MediaTooLargeError, S3NotConfiguredError } from '../errors.js';
import type { Db, Trx } from '../store/db.js';
import { updateMedia } from '../store/repositories/media.js';
import type { MediaTable, SessionTable } from '../store/schema.js';
import { objectKey } from '../storage/object-key.js';
import { objectUrl } from '../storage/s3-objects.js';
import { uploadStream } from '../storage/s3-upload.js';
import type { CdnClient } from './cdn-client.js';
import { openPlaintextFromCdn } from './cdn-download.js';
import { openRecovering, type RecoverExpired } from './expired-recovery.js';
import type { MediaService } from './media-service.js';
import type { TransferLimiter } from './transfer-limiter.js';

export interface PersistResult {
  url: string;
  key: string;
  bucket: string;
  size: number;
  mimeType: string;
  sha256: string | null;
}

export type PersistTrigger = 'request' | 'auto';

/** How a persist ended, as listeners see it inside the transaction that records it. */
export type PersistOutcome = { trigger: PersistTrigger; accountId: string; session: string; media: MediaTable } & (
  | { ok: true; result: PersistResult }
  | { ok: false; error: unknown }
);

/** Runs inside the transaction of a persist result (the webhook outbox and job state hook in). */
export type PersistListener = (trx: Trx, outcome: PersistOutcome) => Promise<void>;

export interface PersistOptions {
  /** Who asked: an API call (default) or an auto-persist job. */
  trigger?: PersistTrigger;
  /** Whether a failure is the last word (reported to listeners); default: every failure is. */
  isFinalFailure?: (err: unknown) => boolean;
}

export type PersistService = ReturnType<typeof createPersistService>;

/**
 * Copies media into the account's bucket: CDN → decrypt/verify → multipart upload, streamed.
 * Idempotent (a persisted media answers with its object) and single-flight per media.
 */
export function createPersistService(deps: {
  db: Db;
  clock: Clock;
  media: MediaService;
  settings: SettingsService;
  cdn: CdnClient;
  limiter: TransferLimiter;
  maxBytes: number;
  partSize: number;
  queueSize: number;
  logger: Logger;
  /** Read when a persist ends, so they may be added after construction. */
  listeners?: PersistListener[];
  /** Re-upload of media the CDN dropped (the WhatsApp sessions); without it, gone is 410. */
  recoverExpired?: RecoverExpired | undefined;
}) {
  const inflight = new Map<string, Promise<PersistResult>>();
  // Aborted on shutdown so running uploads are aborted, not left half-done.
  const lifetime = new AbortController();

  async function run(accountId: string, session: Pick<SessionTable, 'name' | 'proxy'>, row: MediaTable, trigger: PersistTrigger = 'request'): Promise<PersistResult> {
    const storage = await deps.settings.storageFor(accountId);
    if (!storage) throw new S3NotConfiguredError();
    const { client, target } = storage;
    const s = target.settings;
    if (row.persisted_at && row.s3_key && row.s3_bucket) {
      return { url: await objectUrl(client, s, row.s3_bucket, row.s3_key), key: row.s3_key, bucket: row.s3_bucket, size: row.s3_size ?? 0, mimeType: row.mime_type, sha256: row.sha256 };
    }
    if (row.file_length !== null && row.file_length > deps.maxBytes) throw new MediaTooLargeError(deps.maxBytes);
    const release = deps.limiter.acquire();
    try {
      const key = objectKey({ keyPrefix: s.keyPrefix, session: session.name, mediaId: row.id, mimeType: row.mime_type, createdAt: row.created_at });
      const plain = await openRecovering((r) => openPlaintextFromCdn(deps.cdn, deps.media.mediaFile(r, session.proxy), undefined, lifetime.signal), accountId, row, deps.recoverExpired);
      // The claimed hash is checked while streaming (a mismatch aborts), so it may label the object.
      const knownSha = row.sha256 ?? row.file_sha256;
      await uploadStream({
        client,
        bucket: s.bucket,
        key,
        body: plain.body,
        // The same rule as downloads: a type that could render as a page is stored as a download.
        contentType: checkMimeType(row.mime_type).mimeType,
        contentDisposition: dispositionFor(checkMimeType(row.mime_type).mimeType, row.file_name),
        metadata: { 'media-id': row.id, session: session.name, 'message-id': row.message_id, ...(knownSha ? { sha256: knownSha } : {}) },
        partSize: deps.partSize,
        queueSize: deps.queueSize,
        signal: lifetime.signal,
      });
      const sha256 = (await plain.verified) ?? knownSha;
      const size = (plain.body as { plaintextLength?: number }).plaintextLength ?? row.file_length ?? 0;
      const now = deps.clock.now().toISOString();
      const result = { url: await objectUrl(client, s, s.bucket, key), key, bucket: s.bucket, size, mimeType: row.mime_type, sha256 };
      const patch = { persisted_at: now, s3_bucket: s.bucket, s3_key: key, s3_size: size, sha256, updated_at: now };
      // The media row and whatever listeners write (events, job state) commit together.
      await deps.db.transaction().execute(async (trx) => {
        await updateMedia(trx, row.id, patch);
        const outcome = { ok: true as const, trigger, accountId, session: session.name, media: { ...row, ...patch }, result };
        for (const l of deps.listeners ?? []) await l(trx, outcome);
      });
      deps.logger.info({ mediaId: row.id, bucket: s.bucket, key, size }, 'media persisted');
      return result;
    } finally {
      release();
    }
  }

  /** Hands a final failure to the listeners, in a transaction of its own. */
  async function reportFailure(accountId: string, session: string, row: MediaTable, trigger: PersistTrigger, error: unknown) {
    if (!deps.listeners?.length) return;
    try {
      await deps.db.transaction().execute(async (trx) => {
        for (const l of deps.listeners ?? []) await l(trx, { ok: false, trigger, accountId, session, media: row, error });
      });
    } catch (err) {
      deps.logger.error({ err, mediaId: row.id }, 'could not record the persist failure');
    }
  }

  return {
    /**
     * Persists one media (or answers with the stored object); concurrent calls share one upload
     * (and the options of the call that started it).
     */
    async persist(accountId: string, sessionName: string, mediaId: string, opts: PersistOptions = {}): Promise<PersistResult> {
      const { session, row } = await deps.media.lookup(accountId, sessionName, mediaId);
      if (row.persisted_at) return run(accountId, session, row);
      let p = inflight.get(row.id);
      if (!p) {
        const trigger = opts.trigger ?? 'request';
        p = run(accountId, session, row, trigger)
          .catch(async (err: unknown) => {
            if (opts.isFinalFailure?.(err) ?? true) await reportFailure(accountId, session.name, row, trigger, err);
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
