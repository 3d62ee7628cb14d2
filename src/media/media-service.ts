import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { checkMimeType, dispositionFor } from './content-headers.js';
import type { Db } from '../store/db.js';
import { updateMedia } from '../store/repositories/media.js';
import type { MediaTable } from '../store/schema.js';
import type { Buckets } from '../storage/buckets.js';
import type { MediaLookup } from './media-lookup.js';
import { mediaDisposition, toMediaObject, type MediaObject } from './media-object.js';
import { parseRangeHeader } from './http-range.js';
import type { MediaRead, MediaSource } from './media-source.js';
import type { SessionTransfers } from './session-transfers.js';
import type { TransferAccounts } from './transfer-account.js';

/** Files up to this size are verified completely before their first byte is sent. */
export const VERIFIED_HEAD_BYTES = 256 * 1024;

/** The bytes to stream, or (persisted media, `downloadMode` redirect) where to send the client. */
export type Download =
  { status: 200 | 206; headers: Record<string, string>; body: Readable } | { status: 302; location: string };

export interface MediaServiceDeps {
  db: Db;
  lookup: MediaLookup;
  source: MediaSource;
  /** Transfers by session, so stopping or deleting one cancels them. */
  transfers: SessionTransfers;
  buckets: Buckets;
  /** One log line and one metrics sample per transfer. */
  accounting: TransferAccounts;
  logger: Logger;
}

export type MediaService = ReturnType<typeof createMediaService>;

/** Media objects of an account's sessions: metadata and the decrypted, verified bytes. */
export function createMediaService(deps: MediaServiceDeps) {
  /** The object URL of persisted media, minted now (presigned or public); null otherwise. */
  async function s3UrlOf(accountId: string, row: MediaTable): Promise<string | null> {
    if (!row.persisted_at || !row.s3_bucket || !row.s3_key) return null;
    const bucket = await deps.buckets.bucketFor(accountId);
    return bucket ? bucket.url({ bucket: row.s3_bucket, key: row.s3_key }, mediaDisposition(row)) : null;
  }

  /** Persisted media of an account that downloads by redirect: where to send the client. */
  async function redirectTo(accountId: string, row: MediaTable): Promise<string | null> {
    if (!row.persisted_at || !row.s3_bucket || !row.s3_key) return null;
    const bucket = await deps.buckets.bucketFor(accountId);
    if (bucket?.downloadMode !== 'redirect') return null;
    return bucket.url({ bucket: row.s3_bucket, key: row.s3_key }, mediaDisposition(row));
  }

  function headersFor(
    row: MediaTable,
    read: Pick<MediaRead, 'contentLength' | 'contentRange'>,
  ): Record<string, string> {
    // Rows from before types were checked at ingest are checked here too.
    const type = checkMimeType(row.mime_type).mimeType;
    const h: Record<string, string> = {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'accept-ranges': 'bytes',
      etag: etagOf(row),
      'cache-control': 'private, no-store',
    };
    if (read.contentLength !== null) h['content-length'] = String(read.contentLength);
    if (read.contentRange) h['content-range'] = read.contentRange;
    const disposition = dispositionFor(type, row.file_name);
    if (disposition) h['content-disposition'] = disposition;
    return h;
  }

  return {
    async get(accountId: string, sessionName: string, mediaId: string): Promise<MediaObject> {
      const { session, row } = await deps.lookup(accountId, sessionName, mediaId);
      return toMediaObject(row, session.name, await s3UrlOf(accountId, row));
    },

    /**
     * Streams the decrypted media. Resolves once the source answered and (for files up to
     * VERIFIED_HEAD_BYTES) once the whole file verified, so those failures are still errors;
     * later failures destroy the returned body. `signal` aborts the transfer.
     */
    async download(
      accountId: string,
      sessionName: string,
      mediaId: string,
      opts: { range?: string | undefined; ifRange?: string | undefined; signal: AbortSignal; requestId?: string },
    ): Promise<Download> {
      const { session, row } = await deps.lookup(accountId, sessionName, mediaId);
      const location = await redirectTo(accountId, row);
      if (location) return { status: 302, location };
      // A media's bytes never change, so its id is a strong validator (RFC 9110 §13.1.5).
      const range = opts.ifRange === undefined || opts.ifRange === etagOf(row) ? opts.range : undefined;
      // Started before the source may refuse (too large, busy), so refusals are accounted too.
      const cdnKind = parseRangeHeader(range).kind === 'none' ? 'download' : 'range';
      const stored = row.persisted_at !== null && row.s3_bucket !== null && row.s3_key !== null;
      const account = deps.accounting.start({
        kind: stored ? 'bucket-read' : cdnKind,
        mediaId: row.id,
        session: session.name,
        accountId,
        requestId: opts.requestId,
        throughProxy: !stored && session.proxy !== null,
      });
      // Stopping or deleting the session cancels the transfer too.
      const t = deps.transfers.track(accountId, session.name, opts.signal);
      let read: MediaRead;
      try {
        read = await deps.source.open(accountId, session, row, {
          range,
          signal: t.signal,
          verifiedHead: VERIFIED_HEAD_BYTES,
        });
      } catch (err) {
        t.done();
        account.end(err, opts.signal.aborted ? 'client_gone' : undefined);
        throw err;
      }
      if (read.body.destroyed) t.done();
      else read.body.once('close', t.done);
      t.signal.addEventListener(
        'abort',
        () => read.body.destroy(t.signal.reason instanceof Error ? t.signal.reason : undefined),
        { once: true },
      );
      account.opened(read.source, cdnKind);
      const body = account.deliver(
        read.body,
        read.source
          ? { directions: ['client_out'], clientGone: opts.signal }
          : { directions: ['s3_in', 'client_out'], fromSource: true, clientGone: opts.signal },
      );
      void read.verified
        .then(async (v) => {
          if (v && v.sha256 !== row.sha256) await updateMedia(deps.db, row.id, { sha256: v.sha256 });
        })
        .catch((err: unknown) => deps.logger.warn({ err, mediaId }, 'could not record the verified sha256'));
      return { status: read.status, headers: headersFor(row, read), body };
    },
  };
}

const etagOf = (row: Pick<MediaTable, 'id'>) => `"${row.id}"`;
