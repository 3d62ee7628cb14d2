import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { AppError, MediaNotFoundError, StorageFailedError } from '../errors.js';
import type { Db, DbOrTrx } from '../store/db.js';
import { findAccountMedia } from '../store/repositories/media.js';
import { claimUpload, deleteClaim, findUpload, updateClaim } from '../store/repositories/uploads.js';
import type { MediaTable, UploadTable } from '../store/schema.js';
import type { Bucket } from '../storage/buckets.js';

export interface ClaimInput {
  mediaId: string;
  accountId: string;
  bucket: string;
  key: string;
  target: Bucket;
}

/** This process's claim on a media's upload, held with a renewed lease. */
export interface Claim {
  readonly claimId: string;
  /** Records the multipart upload's id (before any part is sent). */
  recordUploadId(uploadId: string): Promise<void>;
  /** Renews the lease every third of it; `onLost` runs if another process took the claim. */
  keepAlive(onLost: () => void): () => void;
  /** The upload completed: the row goes, inside the transaction that marks the media persisted. */
  succeeded(trx: DbOrTrx): Promise<void>;
  /** The run failed: waiters on other processes read this error; unconfirmed aborts go to the sweeper. */
  failed(err: unknown, abortUnconfirmed: boolean): Promise<void>;
  /** The run was cut short (shutdown, cancel, no slot): the media is free for the next caller. */
  released(abortUnconfirmed: boolean): Promise<void>;
}

export type ClaimOutcome = { won: true; claim: Claim } | { won: false; current: UploadTable };

export type UploadClaims = ReturnType<typeof createUploadClaims>;

/**
 * Single flight across processes: the `uploads` row of a media is its claim. The winner uploads
 * under a lease; callers elsewhere poll for its result (the media row once persisted, or the
 * error the winner recorded) and take over once the lease lapsed.
 */
export function createUploadClaims(deps: {
  db: Db;
  clock: Clock;
  owner: string;
  leaseMs: number;
  pollMs: number;
  logger: Logger;
}) {
  const { db } = deps;
  const nowIso = () => deps.clock.now().toISOString();
  const leaseUntil = () => new Date(deps.clock.now().getTime() + deps.leaseMs).toISOString();

  function handle(mediaId: string, claimId: string): Claim {
    return {
      claimId,
      async recordUploadId(uploadId) {
        if (!(await updateClaim(db, mediaId, claimId, { upload_id: uploadId, updated_at: nowIso() }))) {
          throw new StorageFailedError('The upload claim was taken over by another process.');
        }
      },
      keepAlive(onLost) {
        const timer = setInterval(() => {
          updateClaim(db, mediaId, claimId, { lease_expires_at: leaseUntil() })
            .then((held) => {
              if (!held) onLost();
            })
            .catch((err: unknown) => deps.logger.warn({ err, mediaId }, 'could not renew an upload lease'));
        }, deps.leaseMs / 3);
        timer.unref();
        return () => clearInterval(timer);
      },
      async succeeded(trx) {
        await deleteClaim(trx, mediaId, claimId);
      },
      async failed(err, abortUnconfirmed) {
        const e = err instanceof AppError ? err : null;
        await updateClaim(db, mediaId, claimId, {
          state: 'failed',
          needs_abort: abortUnconfirmed ? 1 : 0,
          error_code: e?.code ?? 'INTERNAL_ERROR',
          error_status: e?.statusCode ?? 500,
          error_message: e?.message ?? 'Internal server error.',
          updated_at: nowIso(),
        }).catch((e2: unknown) => deps.logger.error({ err: e2, mediaId }, 'could not record an upload failure'));
      },
      async released(abortUnconfirmed) {
        // An unconfirmed abort stays as a lapsed running row, so any process's sweeper finishes it.
        const done = abortUnconfirmed
          ? updateClaim(db, mediaId, claimId, { lease_expires_at: new Date(0).toISOString(), updated_at: nowIso() })
          : deleteClaim(db, mediaId, claimId);
        await done.catch((err: unknown) => deps.logger.error({ err, mediaId }, 'could not release an upload claim'));
      },
    };
  }

  return {
    /** Claims the media's upload; a run taken over from a dead owner is aborted first. */
    async claim(input: ClaimInput): Promise<ClaimOutcome> {
      const at = nowIso();
      const claimId = randomBytes(9).toString('base64url');
      const row: UploadTable = {
        media_id: input.mediaId,
        claim_id: claimId,
        account_id: input.accountId,
        bucket: input.bucket,
        object_key: input.key,
        upload_id: null,
        owner: deps.owner,
        state: 'running',
        lease_expires_at: leaseUntil(),
        needs_abort: 0,
        error_code: null,
        error_status: null,
        error_message: null,
        created_at: at,
        updated_at: at,
      };
      const r = await claimUpload(db, row);
      if (!r.won) return { won: false, current: r.current };
      const claim = handle(input.mediaId, claimId);
      const prev = r.previous;
      if (prev && (prev.state === 'running' || prev.needs_abort === 1)) {
        deps.logger.info(
          { mediaId: input.mediaId, key: prev.object_key, owner: prev.owner },
          'taking over an upload whose owner is gone: aborting what it left open',
        );
        if (!(await input.target.abortUpload(prev, AbortSignal.timeout(deps.leaseMs)))) {
          const err = new StorageFailedError(
            'The upload left open by a process that died could not be aborted; retry shortly.',
          );
          await claim.failed(err, true);
          throw err;
        }
      }
      return { won: true, claim };
    },

    /**
     * Waits for the run of another process: resolves with the persisted media, or 'again' when
     * the claim is free to take (its run was released, or its owner's lease lapsed); rejects with
     * the error that run recorded.
     */
    async waitFor(accountId: string, seen: UploadTable, signal: AbortSignal): Promise<MediaTable | 'again'> {
      for (;;) {
        signal.throwIfAborted();
        await new Promise<void>((resolve) => setTimeout(resolve, deps.pollMs).unref());
        const media = await findAccountMedia(db, accountId, seen.media_id);
        if (!media) throw new MediaNotFoundError();
        if (media.persisted_at) return media;
        const up = await findUpload(db, seen.media_id);
        if (!up || up.claim_id !== seen.claim_id) return 'again';
        if (up.state === 'failed')
          throw new AppError(
            up.error_code ?? 'INTERNAL_ERROR',
            up.error_status ?? 500,
            up.error_message ?? 'Internal server error.',
          );
        if (up.lease_expires_at < nowIso()) return 'again';
      }
    },
  };
}
