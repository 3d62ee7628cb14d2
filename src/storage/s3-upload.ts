import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageFailedError } from '../errors.js';

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
  const onAbort = () => void upload.abort().catch(() => undefined);
  input.signal.addEventListener('abort', onAbort, { once: true });
  // A source error must stop the upload too: lib-storage only sees it on its next read.
  const onSourceError = () => onAbort();
  input.body.once('error', onSourceError);
  try {
    await upload.done();
  } catch (err) {
    // The source's own error (integrity, CDN, size) explains more than the abort it caused.
    const sourceError = (input.body as Readable & { errored?: unknown }).errored;
    if (sourceError) throw sourceError;
    if (input.signal.aborted) throw input.signal.reason;
    throw new StorageFailedError(`The bucket refused or failed the upload: ${describe(err)}`, { cause: err });
  } finally {
    input.signal.removeEventListener('abort', onAbort);
    input.body.off('error', onSourceError);
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
