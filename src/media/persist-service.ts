import type { Readable } from 'node:stream';
import { checkMimeType, dispositionFor } from './content-headers.js';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import {
  BusyError,
  MediaDeletedError,
  S3NotConfiguredError,
  ShuttingDownError,
  StorageFailedError,
} from '../errors.js';
import type { Db, Trx } from '../store/db.js';
import { recordPersisted } from '../store/repositories/media.js';
import { queueObjectDeletions } from '../store/repositories/media-deletions.js';
import { encodedFileName } from './object-naming.js';
import { mediaDisposition, namedMedia } from './media-object.js';
import type { MediaTable, SessionTable } from '../store/schema.js';
import type { Bucket, Buckets } from '../storage/buckets.js';
import type { MediaLookup } from './media-lookup.js';
import type { MediaRepair } from './media-repair.js';
import type { MediaSource } from './media-source.js';
import type { SessionTransfers } from './session-transfers.js';
import type { TransferAccounts } from './transfer-account.js';
import type { Claim, UploadClaims } from './upload-claims.js';

const noop = (): void => undefined;

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
  { ok: true; result: PersistResult } | { ok: false; error: unknown }
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

type Session = Pick<SessionTable, 'name' | 'proxy'>;

/**
 * Copies media into the account's bucket: CDN → decrypt/verify → multipart upload, streamed.
 * Idempotent (a persisted media answers with its object) and single-flight per media, across
 * processes too: the upload is claimed in the database before it starts (upload-claims.ts).
 */
export function createPersistService(deps: {
  db: Db;
  clock: Clock;
  lookup: MediaLookup;
  source: MediaSource;
  buckets: Buckets;
  claims: UploadClaims;
  /** Transfers by session, so stopping or deleting one cancels them. */
  transfers: SessionTransfers;
  /** One log line and one metrics sample per transfer. */
  accounting: TransferAccounts;
  repair: MediaRepair;
  /** The abort after a failure gets this long (the storage may be the thing that hangs). */
  cleanupTimeoutMs: number;
  logger: Logger;
}) {
  const inflight = new Map<string, Promise<PersistResult>>();
  // Aborted on shutdown so running uploads are aborted at once, not left half-done.
  const lifetime = new AbortController();
  let running = 0;

  const answer = async (bucket: Bucket, row: MediaTable): Promise<PersistResult> => {
    const ref = { bucket: row.s3_bucket!, key: row.s3_key! };
    return {
      url: await bucket.url(ref, mediaDisposition(row)),
      ...ref,
      size: row.s3_size ?? 0,
      mimeType: row.mime_type,
      sha256: row.sha256,
    };
  };

  async function flight(
    accountId: string,
    session: Session,
    row: MediaTable,
    opts: PersistOptions,
  ): Promise<PersistResult> {
    const bucket = await deps.buckets.bucketFor(accountId);
    if (!bucket) throw new S3NotConfiguredError();
    if (row.persisted_at && row.s3_key && row.s3_bucket) {
      if (await bucket.exists({ bucket: row.s3_bucket, key: row.s3_key })) return answer(bucket, row);
      // Gone behind our back: unpersisted again, and stored anew below.
      await deps.repair.objectVanished(accountId, row);
      row = { ...row, persisted_at: null, s3_bucket: null, s3_key: null, s3_size: null };
    }
    const key = bucket.keyFor({
      session: session.name,
      mediaId: row.id,
      mimeType: row.mime_type,
      createdAt: row.created_at,
      fileName: row.file_name,
    });
    for (;;) {
      if (lifetime.signal.aborted) throw new ShuttingDownError();
      const c = await deps.claims.claim({ mediaId: row.id, accountId, bucket: bucket.name, key, target: bucket });
      if (c.won) return run(accountId, session, row, opts, bucket, key, c.claim);
      // Another process uploads it: wait for its answer (or for its claim to come free).
      const seen = await deps.claims.waitFor(accountId, c.current, lifetime.signal).catch((err: unknown) => {
        throw lifetime.signal.aborted ? new ShuttingDownError() : err;
      });
      if (seen !== 'again') return answer(bucket, seen);
    }
  }

  async function run(
    accountId: string,
    session: Session,
    row: MediaTable,
    opts: PersistOptions,
    bucket: Bucket,
    key: string,
    claim: Claim,
  ): Promise<PersistResult> {
    const trigger = opts.trigger ?? 'request';
    // Stopping or deleting the session cancels the upload (TRANSFER_CANCELLED).
    const t = deps.transfers.track(accountId, session.name);
    const controller = t.controller;
    const onShutdown = () => controller.abort(new ShuttingDownError());
    lifetime.signal.addEventListener('abort', onShutdown, { once: true });
    const stopRenewing = claim.keepAlive(() =>
      controller.abort(new StorageFailedError('Another process took this upload over: its lease here had lapsed.')),
    );
    running++;
    let abortUnconfirmed = false;
    // Started before the source may refuse (too large, busy), so refusals are accounted too.
    const account = deps.accounting.start({
      kind: trigger === 'request' ? 'persist' : 'auto-persist',
      mediaId: row.id,
      session: session.name,
      accountId,
      requestId: opts.requestId,
      jobId: opts.jobId,
      throughProxy: session.proxy !== null,
    });
    let body: Readable | undefined;
    try {
      // Takes the transfer slot (held until the body closes); BUSY leaves the claim free.
      const plain = await deps.source.open(accountId, session, row, { signal: controller.signal });
      account.opened(plain.source);
      // s3_out is counted per request by the S3 clients (storage/s3-request-metrics.ts).
      body = account.deliver(plain.body, { directions: [], ends: false });
      // The bucket reads it only after its own checks: a cut before then (shutdown, cancel) must
      // not be an error nobody listens to. The upload's pipeline still sees it (`errored`).
      body.on('error', noop);
      // The claimed hash is checked while streaming (a mismatch aborts), so it may label the object.
      const knownSha = row.sha256 ?? row.file_sha256;
      const ref = await bucket.upload({
        key,
        body,
        // The same rule as downloads: a type that could render as a page is stored as a download,
        // and a file name (documents) goes with it.
        contentType: checkMimeType(row.mime_type).mimeType,
        contentDisposition: dispositionFor(checkMimeType(row.mime_type).mimeType, row.file_name),
        metadata: {
          'media-id': row.id,
          session: session.name,
          'message-id': row.message_id,
          type: row.type,
          'file-name': encodedFileName(namedMedia(row)),
          ...(knownSha ? { sha256: knownSha } : {}),
        },
        signal: controller.signal,
        onUploadId: (id) => claim.recordUploadId(id),
        onAbortUnconfirmed: () => (abortUnconfirmed = true),
        cleanupTimeoutMs: deps.cleanupTimeoutMs,
      });
      const verified = await plain.verified;
      const sha256 = verified?.sha256 ?? knownSha;
      const size = verified?.length ?? row.file_length ?? 0;
      const now = deps.clock.now().toISOString();
      const result = {
        url: await bucket.url(ref, mediaDisposition(row)),
        ...ref,
        size,
        mimeType: row.mime_type,
        sha256,
      };
      const patch = {
        persisted_at: now,
        s3_bucket: ref.bucket,
        s3_key: ref.key,
        s3_size: size,
        sha256,
        updated_at: now,
      };
      // The media row, the end of the claim and what the hook writes (events, job state) commit together.
      const recorded = await deps.db.transaction().execute(async (trx) => {
        // Deleted while uploading: the fresh object must not outlive the owner's delete.
        if (!(await recordPersisted(trx, row.id, patch))) {
          await queueObjectDeletions(trx, [{ accountId, mediaId: row.id, ...ref }], 'delete', now);
          return false;
        }
        await claim.succeeded(trx);
        await opts.hook?.(trx, {
          ok: true,
          trigger,
          accountId,
          session: session.name,
          media: { ...row, ...patch },
          result,
        });
        return true;
      });
      if (!recorded) throw new MediaDeletedError(now);
      account.end();
      deps.logger.info({ mediaId: row.id, ...ref, size }, 'media persisted');
      return result;
    } catch (err) {
      account.end(controller.signal.aborted ? controller.signal.reason : err);
      // Cut short (shutdown, cancel, lost lease) or no slot: the media is free for the next
      // caller; the reason for the cut is the answer.
      if (controller.signal.aborted) {
        await claim.released(abortUnconfirmed);
        throw controller.signal.reason;
      }
      if (err instanceof BusyError) await claim.released(false);
      else await claim.failed(err, abortUnconfirmed);
      throw err;
    } finally {
      // An upload that failed before reading its body would otherwise hold the slot and the CDN
      // connection open.
      body?.destroy();
      running--;
      t.done();
      stopRenewing();
      lifetime.signal.removeEventListener('abort', onShutdown);
    }
  }

  /** Hands a final failure to the hook, in a transaction of its own. */
  async function reportFailure(
    hook: PersistHook,
    accountId: string,
    session: string,
    row: MediaTable,
    trigger: PersistTrigger,
    error: unknown,
  ) {
    try {
      await deps.db
        .transaction()
        .execute((trx) => hook(trx, { ok: false, trigger, accountId, session, media: row, error }));
    } catch (err) {
      deps.logger.error({ err, mediaId: row.id }, 'could not record the persist failure');
    }
  }

  return {
    /**
     * Persists one media (or answers with the stored object); concurrent calls share one upload
     * (and the options and hook of the call that started it), in this process and across processes.
     */
    async persist(
      accountId: string,
      sessionName: string,
      mediaId: string,
      opts: PersistOptions = {},
    ): Promise<PersistResult> {
      if (lifetime.signal.aborted) throw new ShuttingDownError();
      const { session, row } = await deps.lookup(accountId, sessionName, mediaId);
      let p = inflight.get(row.id);
      if (!p) {
        const hook = opts.hook;
        p = flight(accountId, session, row, opts)
          .catch(async (err: unknown) => {
            if (hook && !(err instanceof ShuttingDownError) && (opts.isFinalFailure?.(err) ?? true))
              await reportFailure(hook, accountId, session.name, row, opts.trigger ?? 'request', err);
            throw err;
          })
          .finally(() => inflight.delete(row.id));
        inflight.set(row.id, p);
      }
      return p;
    },
    /** Aborts uploads still running, and refuses new ones (shutdown). */
    abortAll(_reason?: unknown) {
      lifetime.abort(new ShuttingDownError());
    },
    /** Uploads running in this process. */
    get running() {
      return running;
    },
  };
}
