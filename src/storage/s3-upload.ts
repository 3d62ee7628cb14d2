import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { StorageFailedError } from '../errors.js';
import { loadClientS3 } from './aws-sdk.js';
import { MultipartSink } from './multipart-sink.js';

export interface UploadInput {
  client: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  contentType: string;
  /** `attachment` (with the file name) for documents and types that must not render inline. */
  contentDisposition?: string | null;
  metadata: Record<string, string>;
  partSize: number;
  queueSize: number;
  signal: AbortSignal;
}

/**
 * Streams `body` into the bucket: one PutObject when it fits in a part (sent only after the
 * stream ended cleanly, i.e. after the MAC checked out), else a multipart upload with at most
 * `queueSize` parts in flight, completed only after the stream ended cleanly. Holds at most
 * `partSize × (queueSize + 1)` bytes, in buffers reused from part to part (lib-storage's
 * chunker copies every part into a fresh buffer: 291 MB peak RSS on a 1 GiB persist). On any
 * failure the multipart upload is aborted, so nothing partial stays in the bucket.
 */
export async function uploadStream(input: UploadInput): Promise<void> {
  const s3 = await loadClientS3();
  const { client, bucket: Bucket, key: Key } = input;
  const object = { Bucket, Key, ContentType: input.contentType, ...(input.contentDisposition ? { ContentDisposition: input.contentDisposition } : {}), Metadata: input.metadata };
  const sink = new MultipartSink({
    partSize: input.partSize,
    queueSize: input.queueSize,
    store: {
      async put(body) {
        // An explicit length: some gateways refuse a PUT without one (411).
        await client.send(new s3.PutObjectCommand({ ...object, Body: body, ContentLength: body.length }));
      },
      async create() {
        const r = await client.send(new s3.CreateMultipartUploadCommand(object));
        if (!r.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId.');
        return r.UploadId;
      },
      async uploadPart(UploadId, PartNumber, body) {
        const r = await client.send(new s3.UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: body, ContentLength: body.length }));
        if (!r.ETag) throw new Error(`UploadPart ${PartNumber} answered without an ETag.`);
        return r.ETag;
      },
      async complete(UploadId, Parts) {
        // Some gateways answer without an ETag here; the object is complete all the same.
        await client.send(new s3.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }));
      },
    },
  });
  // Stop by failing the source: the pipeline then fails and the upload is aborted below.
  const onAbort = () => input.body.destroy(input.signal.reason instanceof Error ? input.signal.reason : new Error('Upload aborted.'));
  if (input.signal.aborted) onAbort();
  else input.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await pipeline(input.body, sink);
  } catch (err) {
    // No part may still be on its way when the upload is aborted.
    await sink.settled();
    const uploadId = sink.uploadId;
    if (uploadId) await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
    await abortLeftovers(client, Bucket, Key);
    // The source's own error (integrity, CDN, size, shutdown) explains more than what it caused.
    if (sink.storageError === undefined) throw err;
    throw new StorageFailedError(`The bucket refused or failed the upload: ${describe(sink.storageError)}`, { cause: sink.storageError });
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
  // No HTTP answer: a socket error would tell the tenant about addresses and ports (it is logged).
  if (!status) return 'the storage endpoint could not be reached';
  const code = e.Code ?? e.name ?? 'Error';
  const message = e.message && e.message !== code && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  return `${code}${status ? ` (HTTP ${status})` : ''}${message}`;
}
