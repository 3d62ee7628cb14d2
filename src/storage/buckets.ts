import type { Readable } from 'node:stream';
import type { DownloadMode } from '../store/enums.js';
import { objectKey } from './object-key.js';
import { buildS3Client, createS3ClientCache, type S3ClientFactory } from './s3-clients.js';
import type { S3Observer } from './s3-request-metrics.js';
import { objectUrl, probeBucket, readObject, type StoredObject } from './s3-objects.js';
import type { S3Settings, StorageTarget } from './s3-settings.js';
import { abortLeftovers, uploadStream } from './s3-upload.js';

/** Where a stored object is: the bucket it was written to (settings may have moved on since). */
export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface UploadRequest {
  key: string;
  body: Readable;
  contentType: string;
  metadata: Record<string, string>;
  signal: AbortSignal;
}

export type { DownloadMode } from '../store/enums.js';

/** The bucket an account stores media in, and everything done with its objects. */
export interface Bucket {
  /** The configured bucket, where uploads go. */
  readonly name: string;
  readonly downloadMode: DownloadMode;
  /** The object key of a media: `{keyPrefix}{session}/{yyyy}/{mm}/{dd}/{mediaId}.{ext}`. */
  keyFor(media: { session: string; mediaId: string; mimeType: string; createdAt: string }): string;
  /** The URL handed out for an object, minted now: public when a public base URL is set, else presigned. */
  url(ref: ObjectRef): Promise<string>;
  /** Reads an object (or a `Range` of it) as a stream. */
  read(ref: ObjectRef, range: string | undefined, signal: AbortSignal): Promise<StoredObject>;
  /** Streams a body into the configured bucket; on any failure nothing partial stays. */
  upload(req: UploadRequest): Promise<ObjectRef>;
  /** Aborts what a dead run may have left open for `key` (best effort). */
  abortLeftovers(key: string): Promise<void>;
}

/** The account's bucket settings (its own, or the server default) and its download mode. */
export type StorageResolver = (accountId: string) => Promise<{ target: StorageTarget; downloadMode: DownloadMode } | null>;

export type Buckets = ReturnType<typeof createBuckets>;

/**
 * Per-account buckets over one S3 client per settings version. The only way the rest of the
 * server reaches S3: nothing outside `storage/` holds an S3 client.
 */
export function createBuckets(deps: { resolve: StorageResolver; clientFactory?: S3ClientFactory | undefined; partSize: number; queueSize: number; observer?: S3Observer }) {
  const clients = createS3ClientCache(deps.clientFactory, deps.observer);

  return {
    /** The account's bucket, or null when neither it nor the server configured one. */
    async bucketFor(accountId: string): Promise<Bucket | null> {
      const resolved = await deps.resolve(accountId);
      if (!resolved) return null;
      const s = resolved.target.settings;
      const client = await clients.get(resolved.target);
      return {
        name: s.bucket,
        downloadMode: resolved.downloadMode,
        keyFor: (m) => objectKey({ keyPrefix: s.keyPrefix, ...m }),
        url: (ref) => objectUrl(client, s, ref.bucket, ref.key),
        read: (ref, range, signal) => readObject(client, ref.bucket, ref.key, range, signal),
        async upload(req) {
          await uploadStream({ client, bucket: s.bucket, ...req, partSize: deps.partSize, queueSize: deps.queueSize });
          return { bucket: s.bucket, key: req.key };
        },
        abortLeftovers: (key) => abortLeftovers(client, s.bucket, key),
      };
    },
    close: () => clients.close(),
  };
}

/**
 * Checks settings against their bucket with a client of their own (not cached: they may never
 * be saved); returns the storage's reason when the bucket cannot be used.
 */
export function createBucketProbe(clientFactory: S3ClientFactory = buildS3Client) {
  return async (settings: S3Settings): Promise<string | null> => {
    const client = await clientFactory(settings);
    try {
      return await probeBucket(client, settings.bucket);
    } finally {
      client.destroy();
    }
  };
}
