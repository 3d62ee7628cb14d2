import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { StorageFailedError } from '../errors.js';
import { loadClientS3, loadLibStorage } from './aws-sdk.js';

export interface UploadInput {
  client: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  contentType: string;
  metadata: Record<string, string>;
  partSize: number;
  queueSize: number;
  signal: AbortSignal;
}

/**
 * Streams `body` into the bucket with a multipart upload, holding at most partSize × queueSize
 * bytes. lib-storage reads a whole first part before deciding between one PutObject and a
 * multipart upload, so a file smaller than a part is only PUT after its stream ended cleanly,
 * i.e. after the MAC checked out. On any failure the multipart upload is aborted
 * (`leavePartsOnError: false`), so nothing partial stays in the bucket.
 */
export async function uploadStream(input: UploadInput): Promise<void> {
  const { Upload } = await loadLibStorage();
  const upload = new Upload({
    client: input.client,
    params: {
      Bucket: input.bucket,
      Key: input.key,
      Body: input.body,
      ContentType: input.contentType,
      Metadata: input.metadata,
    },
    partSize: input.partSize,
    queueSize: input.queueSize,
    leavePartsOnError: false,
  });
  // Stop by failing the source: lib-storage then aborts its multipart upload itself before
  // done() rejects. (upload.abort() would reject done() at once and clean up in the background.)
  const onAbort = () => input.body.destroy(input.signal.reason instanceof Error ? input.signal.reason : new Error('Upload aborted.'));
  input.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await upload.done();
  } catch (err) {
    await abortLeftovers(input.client, input.bucket, input.key);
    // The source's own error (integrity, CDN, size, shutdown) explains more than what it caused.
    const sourceError = (input.body as Readable & { errored?: unknown }).errored;
    if (sourceError) throw sourceError;
    throw new StorageFailedError(`The bucket refused or failed the upload: ${describe(err)}`, { cause: err });
  } finally {
    input.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Aborts any multipart upload still open for `key`: the guarantee that a failed persist leaves
 * nothing behind must not depend on the SDK winning every race. Best effort: the storage may be
 * the thing that failed.
 */
export async function abortLeftovers(client: S3Client, bucket: string, key: string): Promise<void> {
  try {
    const { AbortMultipartUploadCommand, ListMultipartUploadsCommand } = await loadClientS3();
    const r = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    for (const u of r.Uploads ?? []) {
      if (u.Key === key && u.UploadId) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.UploadId }));
    }
  } catch {
    // Nothing more we can do here; the error that caused the failure is what the caller reports.
  }
}

/** A short reason from an S3 SDK error (its code and message, never credentials). */
export function describe(err: unknown): string {
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.name ?? 'Error';
  const message = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return `${code}${status ? ` (HTTP ${status})` : ''}${message}`;
}
