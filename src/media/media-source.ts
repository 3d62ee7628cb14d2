import type { SecretBox } from '../crypto/secret-box.js';
import { openProxy } from '../sessions/session-proxy.js';
import { MediaKeyWipedError, MediaNotFoundError, MediaTooLargeError } from '../errors.js';
import type { MediaTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';
import type { CdnClient } from './cdn-client.js';
import { openPlaintextFromCdn, type MediaFile, type PlainStream } from './cdn-download.js';
import { openRecovering, type RecoverExpired } from './expired-recovery.js';
import { parseRangeHeader } from './http-range.js';
import type { MediaRepair } from './media-repair.js';
import type { TransferLimiter } from './transfer-limiter.js';
import { withVerifiedHead } from './verified-head.js';

export type { Verified } from './cdn-download.js';

/**
 * An opened media, in the shape of a CDN read; a bucket read's `verified` resolves null (it was
 * verified when stored).
 */
export type MediaRead = PlainStream;

export interface OpenOptions {
  /** A `Range` header; only a single well-formed range is honoured (else the whole file). */
  range?: string | undefined;
  /** Aborts the transfer (client gone, shutdown). */
  signal: AbortSignal;
  /** Read this much of a CDN file before resolving, so a small file's failures still throw. */
  verifiedHead?: number;
}

/** The session a media belongs to, as far as fetching it goes. */
export interface MediaSession {
  proxy: string | null;
}

export type MediaSource = ReturnType<typeof createMediaSource>;

/**
 * Opens a media's plaintext for any caller (download, persist): the one place that checks the
 * size limit, holds a transfer slot until the body closes (bucket and CDN reads alike),
 * recovers media the CDN dropped and chooses between whole-file and range decryption.
 */
export function createMediaSource(deps: {
  secretBox: SecretBox;
  cdn: CdnClient;
  limiter: TransferLimiter;
  buckets: Buckets;
  maxBytes: number;
  /** Re-upload of media the CDN dropped (the WhatsApp sessions); without it, gone is 410. */
  recoverExpired?: RecoverExpired | undefined;
  repair: MediaRepair;
}) {
  /** What fetching the file needs; it goes through the session's proxy, as its WebSocket does. */
  function mediaFile(row: MediaTable, proxy: string | null): MediaFile {
    // Expired unpersisted media lose their key: nothing can be decrypted any more.
    if (row.key_wiped_at) throw new MediaKeyWipedError();
    return {
      ref: { directPath: row.direct_path, url: row.url, proxy: openProxy(deps.secretBox, proxy) },
      type: row.type,
      mediaKey: deps.secretBox.open(row.media_key),
      fileLength: row.file_length,
      fileSha256: row.file_sha256 ? Buffer.from(row.file_sha256, 'hex') : null,
      // The HMAC already authenticates every encrypted byte (with a key the CDN lacks); an unkeyed
      // hash of the same bytes from the same message adds CPU on the hot path, not assurance.
      fileEncSha256: null,
    };
  }

  /** Persisted media come from the bucket, so they outlive the CDN copy. */
  async function fromBucket(accountId: string, row: MediaTable, opts: OpenOptions): Promise<MediaRead | null> {
    if (!row.persisted_at || !row.s3_bucket || !row.s3_key) return null;
    const bucket = await deps.buckets.bucketFor(accountId);
    if (!bucket) return null;
    // Only a single well-formed range is passed on, as on the CDN path.
    const range = parseRangeHeader(opts.range).kind === 'none' ? undefined : opts.range;
    try {
      const obj = await bucket.read({ bucket: row.s3_bucket, key: row.s3_key }, range, opts.signal);
      return { ...obj, verified: Promise.resolve(null), source: null };
    } catch (err) {
      if (!(err instanceof MediaNotFoundError)) throw err;
      // Gone behind our back: serve from the CDN while it still has the file.
      await deps.repair.objectVanished(accountId, row);
      return null;
    }
  }

  async function fromCdn(
    accountId: string,
    session: MediaSession,
    row: MediaTable,
    opts: OpenOptions,
  ): Promise<MediaRead> {
    const plain = await openRecovering(
      (r) => openPlaintextFromCdn(deps.cdn, mediaFile(r, session.proxy), opts.range, opts.signal),
      accountId,
      row,
      deps.recoverExpired,
    );
    const body = opts.verifiedHead ? await withVerifiedHead(plain.body, opts.verifiedHead) : plain.body;
    return { ...plain, body };
  }

  return {
    /**
     * Opens the plaintext of `row`: from the bucket when persisted there, else from the CDN.
     * Resolves once the source answered (and the verified head, if asked, was read); the
     * transfer slot is released when the returned body closes, or here on failure.
     */
    async open(accountId: string, session: MediaSession, row: MediaTable, opts: OpenOptions): Promise<MediaRead> {
      if (row.file_length !== null && row.file_length > deps.maxBytes) throw new MediaTooLargeError(deps.maxBytes);
      const release = deps.limiter.acquire(accountId);
      try {
        const read = (await fromBucket(accountId, row, opts)) ?? (await fromCdn(accountId, session, row, opts));
        if (read.body.destroyed) release();
        else read.body.once('close', release);
        return read;
      } catch (err) {
        release();
        throw err;
      }
    },
  };
}
