import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { DownloadMode } from '../store/enums.js';
import { storeVerifiesChecksums, type ChecksumMode } from './checksum-probe.js';
import { objectKey } from './object-key.js';
import { buildS3Client, createS3ClientCache, type S3ClientFactory } from './s3-clients.js';
import type { S3Observer } from './s3-request-metrics.js';
import { deleteObject, objectExists, objectUrl, probeBucket, readObject, type StoredObject } from './s3-objects.js';
import type { S3Settings, StorageTarget } from './s3-settings.js';
import { abortLeftovers, uploadStream } from './s3-upload.js';
import { abortStrays, type StrayQuery } from './stray-uploads.js';
import { abortUpload, type RecordedUpload } from './upload-abort.js';

/** Where a stored object is: the bucket it was written to (settings may have moved on since). */
export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface UploadRequest {
  key: string;
  body: Readable;
  contentType: string;
  contentDisposition?: string | null | undefined;
  metadata: Record<string, string>;
  signal: AbortSignal;
  /** Awaited once CreateMultipartUpload answered, before any part is sent (the durable record). */
  onUploadId?: (uploadId: string) => Promise<void>;
  /** Called when, after a failure, the abort could not be confirmed (the storage may be down). */
  onAbortUnconfirmed?: () => void;
  /** The abort after a failure gets this long (the storage may be the thing that hangs). */
  cleanupTimeoutMs?: number;
}

export type { DownloadMode } from '../store/enums.js';

/** The bucket an account stores media in, and everything done with its objects. */
export interface Bucket {
  /** The configured bucket, where uploads go. */
  readonly name: string;
  /** Endpoint, bucket and key prefix: two accounts with the same identity share their uploads' namespace. */
  readonly identity: string;
  readonly keyPrefix: string;
  readonly downloadMode: DownloadMode;
  /** The object key of a media: `{keyPrefix}{session}/{yyyy}/{mm}/{dd}/{mediaId}.{ext}`. */
  keyFor(media: {
    session: string;
    mediaId: string;
    mimeType: string;
    createdAt: string;
    fileName?: string | null;
  }): string;
  /**
   * The URL handed out for an object, minted now: public when a public base URL is set, else
   * presigned (with `disposition` as the response's `Content-Disposition`).
   */
  url(ref: ObjectRef, disposition?: string): Promise<string>;
  /** Whether uploads to this bucket carry SHA-256 checksums the store verifies (S3_CHECKSUMS). */
  checksums(): Promise<boolean>;
  /** Reads an object (or a `Range` of it) as a stream. */
  read(ref: ObjectRef, range: string | undefined, signal: AbortSignal): Promise<StoredObject>;
  /** Streams a body into the configured bucket; on any failure nothing partial stays. */
  upload(req: UploadRequest): Promise<ObjectRef>;
  /** Aborts what a dead run may have left open for `key` (best effort). */
  abortLeftovers(key: string): Promise<void>;
  /** Deletes an object; one already gone counts as deleted. */
  delete(ref: ObjectRef): Promise<void>;
  /** Whether the object is still there (STORAGE_FAILED when the bucket cannot tell). */
  exists(ref: ObjectRef): Promise<boolean>;
  /** Aborts a recorded upload (by id, then anything open for its key); whether it was confirmed. */
  abortUpload(u: RecordedUpload, signal: AbortSignal): Promise<boolean>;
  /** Counts, and unless dry-run aborts, old multipart uploads under the key prefix that no live record claims. */
  abortStrays(q: StrayQuery): Promise<{ found: number; aborted: number; error: unknown }>;
}

/** The account's bucket settings (its own, or the server default) and its download mode. */
export type StorageResolver = (
  accountId: string,
) => Promise<{ target: StorageTarget; downloadMode: DownloadMode } | null>;

export type Buckets = ReturnType<typeof createBuckets>;

/**
 * Per-account buckets over one S3 client per settings version. The only way the rest of the
 * server reaches S3: nothing outside `storage/` holds an S3 client.
 */
export function createBuckets(deps: {
  resolve: StorageResolver;
  clientFactory?: S3ClientFactory | undefined;
  partSize: number;
  queueSize: number;
  checksums?: ChecksumMode;
  observer?: S3Observer;
  logger?: Logger;
}) {
  const clients = createS3ClientCache(deps.clientFactory, deps.observer);
  // Detected once per bucket configuration (a failed probe is not remembered).
  const verifying = new Map<string, Promise<boolean>>();
  function checksumsFor(cacheKey: string, client: S3Client, s: S3Settings): Promise<boolean> {
    const mode = deps.checksums ?? 'auto';
    if (mode !== 'auto') return Promise.resolve(mode === 'on');
    const id = `${cacheKey}|${s.bucket}`;
    let p = verifying.get(id);
    if (!p) {
      p = storeVerifiesChecksums(client, s.bucket, `${s.keyPrefix}.titan-checksum-probe`).then((yes) => {
        deps.logger?.info(
          { bucket: s.bucket, checksums: yes },
          yes
            ? 'the store verifies SHA-256 checksums: uploads carry them'
            : 'the store does not verify SHA-256 checksums: uploads go without them',
        );
        return yes;
      });
      verifying.set(id, p);
    }
    return p;
  }

  return {
    /** The account's bucket, or null when neither it nor the server configured one. */
    async bucketFor(accountId: string): Promise<Bucket | null> {
      const resolved = await deps.resolve(accountId);
      if (!resolved) return null;
      const s = resolved.target.settings;
      const client = await clients.get(resolved.target);
      return {
        name: s.bucket,
        identity: `${s.endpoint ?? 'aws'}|${s.region}|${s.bucket}|${s.keyPrefix}`,
        keyPrefix: s.keyPrefix,
        downloadMode: resolved.downloadMode,
        keyFor: (m) => objectKey({ keyPrefix: s.keyPrefix, ...m }),
        url: (ref, disposition) => objectUrl(client, s, ref.bucket, ref.key, disposition),
        checksums: () => checksumsFor(resolved.target.cacheKey, client, s),
        read: (ref, range, signal) => readObject(client, ref.bucket, ref.key, range, signal),
        async upload(req) {
          // The check is shared by every upload to this bucket; a cut upload stops waiting for it.
          const checksums = await orAborted(checksumsFor(resolved.target.cacheKey, client, s), req.signal);
          await uploadStream({
            client,
            bucket: s.bucket,
            ...req,
            checksums,
            partSize: deps.partSize,
            queueSize: deps.queueSize,
          });
          return { bucket: s.bucket, key: req.key };
        },
        abortLeftovers: async (key) => void (await abortLeftovers(client, s.bucket, key)),
        delete: (ref) => deleteObject(client, ref.bucket, ref.key),
        exists: (ref) => objectExists(client, ref.bucket, ref.key),
        abortUpload: (u, signal) => abortUpload(client, u, signal),
        abortStrays: (q) => abortStrays({ ...q, client, bucket: s.bucket, prefix: s.keyPrefix }),
      };
    },
    close: () => clients.close(),
  };
}

/**
 * Checks settings against their bucket with a client of their own (not cached: they may never
 * be saved); returns the storage's reason when the bucket cannot be used.
 */
export function createBucketProbe(
  clientFactory: S3ClientFactory = (s) => buildS3Client(s, undefined, { allowPrivate: false }),
) {
  return async (settings: S3Settings): Promise<string | null> => {
    // An account's settings: under the address policy.
    const client = await clientFactory(settings, { trusted: false });
    try {
      return await probeBucket(client, settings.bucket);
    } finally {
      client.destroy();
    }
  };
}

/** `p`, or the reason of `signal` as soon as it aborts (leaving `p` to whoever else awaits it). */
async function orAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
