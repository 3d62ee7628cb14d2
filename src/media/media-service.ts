import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { SecretBox } from '../crypto/secret-box.js';
import { MediaNotFoundError, MediaTooLargeError } from '../errors.js';
import type { Db } from '../store/db.js';
import { findMedia, updateMedia } from '../store/repositories/media.js';
import type { MediaTable } from '../store/schema.js';
import type { SessionService } from '../sessions/session-service.js';
import type { SettingsService } from '../accounts/settings-service.js';
import { objectUrl, readObject } from '../storage/s3-objects.js';
import { parseRangeHeader } from './http-range.js';
import type { CdnClient } from './cdn-client.js';
import { openPlaintextFromCdn, type MediaFile, type PlainStream } from './cdn-download.js';
import { openRecovering, type RecoverExpired } from './expired-recovery.js';
import { toMediaObject, type MediaObject } from './media-object.js';
import type { MediaType } from './media-type.js';
import type { TransferLimiter } from './transfer-limiter.js';
import { withVerifiedHead } from './verified-head.js';

/** Files up to this size are verified completely before their first byte is sent. */
export const VERIFIED_HEAD_BYTES = 256 * 1024;

export interface Download {
  status: 200 | 206 | 302;
  headers: Record<string, string>;
  /** Null for a redirect. */
  body: Readable | null;
}

export interface MediaServiceDeps {
  db: Db;
  sessions: SessionService;
  secretBox: SecretBox;
  cdn: CdnClient;
  limiter: TransferLimiter;
  settings: SettingsService;
  maxBytes: number;
  logger: Logger;
  /** Re-upload of media the CDN dropped (the WhatsApp sessions); without it, gone is 410. */
  recoverExpired?: RecoverExpired | undefined;
}

export type MediaService = ReturnType<typeof createMediaService>;

/** Media objects of an account's sessions: metadata and the decrypted, verified bytes. */
export function createMediaService(deps: MediaServiceDeps) {
  /** The session and media rows, scoped by account and session (else not found). */
  async function lookup(accountId: string, sessionName: string, mediaId: string) {
    const session = await deps.sessions.requireRow(accountId, sessionName);
    const row = await findMedia(deps.db, accountId, session.id, mediaId);
    if (!row) throw new MediaNotFoundError();
    return { session, row };
  }

  /** What fetching the file needs; it goes through the session's proxy, as its WebSocket does. */
  function mediaFile(row: MediaTable, proxy: string | null): MediaFile {
    return {
      ref: { directPath: row.direct_path, url: row.url, proxy },
      type: row.type as MediaType,
      mediaKey: deps.secretBox.open(row.media_key),
      fileLength: row.file_length,
      fileSha256: row.file_sha256 ? Buffer.from(row.file_sha256, 'hex') : null,
      // The HMAC already authenticates every encrypted byte (with a key the CDN lacks); an unkeyed
      // hash of the same bytes from the same message adds CPU on the hot path, not assurance.
      fileEncSha256: null,
    };
  }

  /** The object URL of persisted media, minted now (presigned or public); null otherwise. */
  async function s3UrlOf(accountId: string, row: MediaTable): Promise<string | null> {
    if (!row.persisted_at || !row.s3_bucket || !row.s3_key) return null;
    const storage = await deps.settings.storageFor(accountId);
    return storage ? objectUrl(storage.client, storage.target.settings, row.s3_bucket, row.s3_key) : null;
  }

  /** Persisted media come from the bucket (so they outlive the CDN copy), or by redirect. */
  async function fromBucket(accountId: string, row: MediaTable, range: string | undefined, signal: AbortSignal): Promise<Download | null> {
    if (!row.persisted_at || !row.s3_bucket || !row.s3_key) return null;
    const storage = await deps.settings.storageFor(accountId);
    if (!storage) return null;
    if (storage.downloadMode === 'redirect') {
      return { status: 302, headers: { location: await objectUrl(storage.client, storage.target.settings, row.s3_bucket, row.s3_key) }, body: null };
    }
    // Only a single well-formed range is passed on, as on the CDN path.
    const r = parseRangeHeader(range);
    const obj = await readObject(storage.client, row.s3_bucket, row.s3_key, r.kind === 'none' ? undefined : range, signal);
    return { status: obj.status, headers: headersFor(row, obj), body: obj.body };
  }

  function headersFor(row: MediaTable, plain: Pick<PlainStream, 'contentLength' | 'contentRange'>): Record<string, string> {
    const h: Record<string, string> = { 'content-type': row.mime_type, 'accept-ranges': 'bytes', etag: etagOf(row), 'cache-control': 'private, no-store' };
    if (plain.contentLength !== null) h['content-length'] = String(plain.contentLength);
    if (plain.contentRange) h['content-range'] = plain.contentRange;
    if (row.file_name) h['content-disposition'] = contentDisposition(row.file_name);
    return h;
  }

  return {
    lookup,
    mediaFile,

    async get(accountId: string, sessionName: string, mediaId: string): Promise<MediaObject> {
      const { session, row } = await lookup(accountId, sessionName, mediaId);
      return toMediaObject(row, session.name, await s3UrlOf(accountId, row));
    },

    /**
     * Streams the decrypted media. Resolves once the source answered and (for files up to
     * VERIFIED_HEAD_BYTES) once the whole file verified, so those failures are still errors;
     * later failures destroy the returned body. `signal` aborts the CDN transfer.
     */
    async download(
      accountId: string,
      sessionName: string,
      mediaId: string,
      opts: { range?: string | undefined; ifRange?: string | undefined; signal: AbortSignal },
    ): Promise<Download> {
      const { session, row } = await lookup(accountId, sessionName, mediaId);
      // A media's bytes never change, so its id is a strong validator (RFC 9110 §13.1.5).
      const range = opts.ifRange === undefined || opts.ifRange === etagOf(row) ? opts.range : undefined;
      const stored = await fromBucket(accountId, row, range, opts.signal);
      if (stored) return stored;
      if (row.file_length !== null && row.file_length > deps.maxBytes) throw new MediaTooLargeError(deps.maxBytes);
      const release = deps.limiter.acquire();
      try {
        const plain = await openRecovering((r) => openPlaintextFromCdn(deps.cdn, mediaFile(r, session.proxy), range, opts.signal), accountId, row, deps.recoverExpired);
        void plain.verified.then(async (sha256) => {
          if (sha256 && sha256 !== row.sha256) await updateMedia(deps.db, row.id, { sha256 });
        }).catch((err: unknown) => deps.logger.warn({ err, mediaId }, 'could not record the verified sha256'));
        const body = await withVerifiedHead(plain.body, VERIFIED_HEAD_BYTES);
        body.once('close', release);
        return { status: plain.status, headers: headersFor(row, plain), body };
      } catch (err) {
        release();
        throw err;
      }
    },
  };
}

const etagOf = (row: Pick<MediaTable, 'id'>) => `"${row.id}"`;

/** `attachment` with an ASCII fallback and the exact name in RFC 5987 form. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
