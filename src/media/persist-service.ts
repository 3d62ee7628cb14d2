import type { Logger } from 'pino';
import type { SettingsService } from '../accounts/settings-service.js';
import type { Clock } from '../clock.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { MediaTooLargeError, S3NotConfiguredError, ShuttingDownError, StorageFailedError, TransferCancelledError } from '../errors.js';
import type { Db, Trx } from '../store/db.js';
import { updateMedia } from '../store/repositories/media.js';
import type { MediaTable, SessionTable } from '../store/schema.js';
import { objectKey } from '../storage/object-key.js';
import { objectExists, objectUrl } from '../storage/s3-objects.js';
import type { S3Settings } from '../storage/s3-settings.js';
import { uploadStream } from '../storage/s3-upload.js';
import type { CdnClient } from './cdn-client.js';
import { openPlaintextFromCdn } from './cdn-download.js';
import { openRecovering, type RecoverExpired } from './expired-recovery.js';
import type { MediaService } from './media-service.js';
import type { TransferLimiter } from './transfer-limiter.js';
import type { Claim, UploadClaims } from './upload-claims.js';
import type { MediaRepair } from './media-repair.js';

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

type Storage = { client: S3Client; s: S3Settings };

/**
 * Copies media into the account's bucket: CDN → decrypt/verify → multipart upload, streamed.
 * Idempotent (a persisted media answers with its object) and single-flight per media, across
 * processes too: the upload is claimed in the database before it starts (upload-claims.ts).
 */
export function createPersistService(deps: {
  db: Db;
  clock: Clock;
  media: MediaService;
  settings: SettingsService;
  cdn: CdnClient;
  limiter: TransferLimiter;
  claims: UploadClaims;
  repair: MediaRepair;
  maxBytes: number;
  partSize: number;
  queueSize: number;
  /** The abort after a failure gets this long (the storage may be the thing that hangs). */
  cleanupTimeoutMs: number;
  logger: Logger;
  /** Read when a persist ends, so they may be added after construction. */
  listeners?: PersistListener[];
  /** Re-upload of media the CDN dropped (the WhatsApp sessions); without it, gone is 410. */
  recoverExpired?: RecoverExpired | undefined;
}) {
  const inflight = new Map<string, Promise<PersistResult>>();
  // Aborted on shutdown so running uploads are aborted at once, not left half-done.
  const lifetime = new AbortController();
  // Running uploads by media, so stopping or deleting a session can cancel its own.
  const running = new Map<string, { accountId: string; session: string; controller: AbortController }>();

  const answer = async ({ client, s }: Storage, row: MediaTable): Promise<PersistResult> => ({
    url: await objectUrl(client, s, row.s3_bucket!, row.s3_key!),
    key: row.s3_key!,
    bucket: row.s3_bucket!,
    size: row.s3_size ?? 0,
    mimeType: row.mime_type,
    sha256: row.sha256,
  });

  /** The stored object, or null (after marking the media unpersisted) when it vanished. */
  async function stored(accountId: string, st: Storage, row: MediaTable): Promise<PersistResult | null> {
    if (!row.persisted_at || !row.s3_key || !row.s3_bucket) return null;
    if (await objectExists(st.client, row.s3_bucket, row.s3_key)) return answer(st, row);
    await deps.repair.objectVanished(accountId, row);
    return null;
  }

  async function flight(accountId: string, session: Pick<SessionTable, 'name' | 'proxy'>, row: MediaTable, trigger: PersistTrigger): Promise<PersistResult> {
    const storage = await deps.settings.storageFor(accountId);
    if (!storage) throw new S3NotConfiguredError();
    const st = { client: storage.client, s: storage.target.settings };
    const done = await stored(accountId, st, row);
    if (done) return done;
    if (row.file_length !== null && row.file_length > deps.maxBytes) throw new MediaTooLargeError(deps.maxBytes);
    const key = objectKey({ keyPrefix: st.s.keyPrefix, session: session.name, mediaId: row.id, mimeType: row.mime_type, createdAt: row.created_at });
    for (;;) {
      if (lifetime.signal.aborted) throw new ShuttingDownError();
      const c = await deps.claims.claim({ mediaId: row.id, accountId, bucket: st.s.bucket, key, client: st.client });
      if (c.won) return run(accountId, session, row, trigger, st, key, c.claim);
      // Another process uploads it: wait for its answer (or for its claim to come free).
      const seen = await deps.claims.waitFor(accountId, c.current, lifetime.signal).catch((err: unknown) => {
        throw lifetime.signal.aborted ? new ShuttingDownError() : err;
      });
      if (seen !== 'again') return answer(st, seen);
    }
  }

  async function run(accountId: string, session: Pick<SessionTable, 'name' | 'proxy'>, row: MediaTable, trigger: PersistTrigger, st: Storage, key: string, claim: Claim): Promise<PersistResult> {
    let release: () => void;
    try {
      release = deps.limiter.acquire(accountId);
    } catch (err) {
      await claim.released(false);
      throw err;
    }
    const controller = new AbortController();
    const abort = (reason: Error) => controller.abort(reason);
    const onShutdown = () => abort(new ShuttingDownError());
    lifetime.signal.addEventListener('abort', onShutdown, { once: true });
    const stopRenewing = claim.keepAlive(() => abort(new StorageFailedError('Another process took this upload over: its lease here had lapsed.')));
    running.set(row.id, { accountId, session: session.name, controller });
    let abortUnconfirmed = false;
    try {
      const plain = await openRecovering((r) => openPlaintextFromCdn(deps.cdn, deps.media.mediaFile(r, session.proxy), undefined, controller.signal), accountId, row, deps.recoverExpired);
      // The claimed hash is checked while streaming (a mismatch aborts), so it may label the object.
      const knownSha = row.sha256 ?? row.file_sha256;
      await uploadStream({
        client: st.client,
        bucket: st.s.bucket,
        key,
        body: plain.body,
        contentType: row.mime_type,
        metadata: { 'media-id': row.id, session: session.name, 'message-id': row.message_id, ...(knownSha ? { sha256: knownSha } : {}) },
        partSize: deps.partSize,
        queueSize: deps.queueSize,
        signal: controller.signal,
        onUploadId: (id) => claim.recordUploadId(id),
        onAbortUnconfirmed: () => (abortUnconfirmed = true),
        cleanupTimeoutMs: deps.cleanupTimeoutMs,
      });
      const sha256 = (await plain.verified) ?? knownSha;
      const size = (plain.body as { plaintextLength?: number }).plaintextLength ?? row.file_length ?? 0;
      const now = deps.clock.now().toISOString();
      const result = { url: await objectUrl(st.client, st.s, st.s.bucket, key), key, bucket: st.s.bucket, size, mimeType: row.mime_type, sha256 };
      const patch = { persisted_at: now, s3_bucket: st.s.bucket, s3_key: key, s3_size: size, sha256, updated_at: now };
      // The media row, the end of the claim and what listeners write (events, job state) commit together.
      await deps.db.transaction().execute(async (trx) => {
        await updateMedia(trx, row.id, patch);
        await claim.succeeded(trx);
        const outcome = { ok: true as const, trigger, accountId, session: session.name, media: { ...row, ...patch }, result };
        for (const l of deps.listeners ?? []) await l(trx, outcome);
      });
      deps.logger.info({ mediaId: row.id, bucket: st.s.bucket, key, size }, 'media persisted');
      return result;
    } catch (err) {
      // Cut short (shutdown, cancel, lost lease): the media is free for the next caller, and the
      // reason for the cut is the answer.
      if (controller.signal.aborted) {
        await claim.released(abortUnconfirmed);
        throw controller.signal.reason;
      }
      await claim.failed(err, abortUnconfirmed);
      throw err;
    } finally {
      running.delete(row.id);
      stopRenewing();
      lifetime.signal.removeEventListener('abort', onShutdown);
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
     * (and the options of the call that started it), in this process and across processes.
     */
    async persist(accountId: string, sessionName: string, mediaId: string, opts: PersistOptions = {}): Promise<PersistResult> {
      if (lifetime.signal.aborted) throw new ShuttingDownError();
      const { session, row } = await deps.media.lookup(accountId, sessionName, mediaId);
      let p = inflight.get(row.id);
      if (!p) {
        const trigger = opts.trigger ?? 'request';
        p = flight(accountId, session, row, trigger)
          .catch(async (err: unknown) => {
            if (!(err instanceof ShuttingDownError) && (opts.isFinalFailure?.(err) ?? true)) await reportFailure(accountId, session.name, row, trigger, err);
            throw err;
          })
          .finally(() => inflight.delete(row.id));
        inflight.set(row.id, p);
      }
      return p;
    },
    /** Cancels the uploads of one session (it was stopped or deleted). */
    cancelSession(accountId: string, sessionName: string) {
      for (const r of running.values()) {
        if (r.accountId === accountId && r.session === sessionName) r.controller.abort(new TransferCancelledError());
      }
    },
    /** Aborts uploads still running, and refuses new ones (shutdown). */
    abortAll() {
      lifetime.abort(new ShuttingDownError());
    },
    /** Uploads running in this process. */
    get running() {
      return running.size;
    },
  };
}
