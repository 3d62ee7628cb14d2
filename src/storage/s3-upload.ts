import { createHash } from 'node:crypto';
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
  contentDisposition?: string | null | undefined;
  metadata: Record<string, string>;
  /** Send `x-amz-checksum-sha256` per request so the store verifies every byte it keeps. */
  checksums?: boolean | undefined;
  partSize: number;
  queueSize: number;
  signal: AbortSignal;
  /** Awaited once CreateMultipartUpload answered, before any part is sent (the durable record). */
  onUploadId?: (uploadId: string) => Promise<void>;
  /** Called when, after a failure, the abort could not be confirmed (the storage may be down). */
  onAbortUnconfirmed?: () => void;
  /** The abort and leftover listing after a failure get this long (the storage may be hung). */
  cleanupTimeoutMs?: number;
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
  const object = {
    Bucket,
    Key,
    ContentType: input.contentType,
    Metadata: input.metadata,
    ...(input.contentDisposition ? { ContentDisposition: input.contentDisposition } : {}),
  };
  // Hashed before the send: the part buffer is reused once the request is done with it.
  const sum = (b: Buffer) =>
    input.checksums ? { ChecksumSHA256: createHash('sha256').update(b).digest('base64') } : {};
  const partSums = new Map<number, string>();
  // Shutdown (or a cancelled session) cuts running requests at once, not after their deadlines;
  // so does the first failed part (the others would only wait out their own deadlines).
  const parts = new AbortController();
  const sendOpts = { abortSignal: AbortSignal.any([input.signal, parts.signal]) };
  const sink = new MultipartSink({
    partSize: input.partSize,
    queueSize: input.queueSize,
    store: {
      async put(body) {
        // An explicit length: some gateways refuse a PUT without one (411).
        await client.send(
          new s3.PutObjectCommand({ ...object, Body: body, ContentLength: body.length, ...sum(body) }),
          sendOpts,
        );
      },
      async create() {
        const r = await client.send(
          new s3.CreateMultipartUploadCommand({
            ...object,
            ...(input.checksums ? { ChecksumAlgorithm: 'SHA256' as const } : {}),
          }),
          sendOpts,
        );
        if (!r.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId.');
        await input.onUploadId?.(r.UploadId);
        return r.UploadId;
      },
      async uploadPart(UploadId, PartNumber, body) {
        const checksum = sum(body);
        const r = await client.send(
          new s3.UploadPartCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber,
            Body: body,
            ContentLength: body.length,
            ...checksum,
          }),
          sendOpts,
        );
        if (!r.ETag) throw new Error(`UploadPart ${PartNumber} answered without an ETag.`);
        if (checksum.ChecksumSHA256) partSums.set(PartNumber, checksum.ChecksumSHA256);
        return r.ETag;
      },
      async complete(UploadId, Parts) {
        // Some gateways answer without an ETag here; the object is complete all the same.
        // With checksums, the store checks each part's again and stores the composite of them all.
        const completed = Parts.map((p) => ({
          ...p,
          ...(partSums.has(p.PartNumber) ? { ChecksumSHA256: partSums.get(p.PartNumber) } : {}),
        }));
        await client.send(
          new s3.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: completed } }),
          sendOpts,
        );
      },
    },
  });
  // Stop by failing the source: the pipeline then fails and the upload is aborted below.
  const onAbort = () =>
    input.body.destroy(input.signal.reason instanceof Error ? input.signal.reason : new Error('Upload aborted.'));
  if (input.signal.aborted) onAbort();
  else input.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await pipeline(input.body, sink);
  } catch (err) {
    // Whether the storage failed is decided before the cut parts fail too.
    const storageError = sink.storageError;
    // No part may still be on its way when the upload is aborted.
    parts.abort(err);
    await sink.settled();
    const cleanup = AbortSignal.timeout(input.cleanupTimeoutMs ?? 30_000);
    const uploadId = sink.uploadId;
    let aborted = true;
    if (uploadId) {
      await client
        .send(new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }), { abortSignal: cleanup })
        .catch((e: unknown) => {
          if (status(e) !== 404) aborted = false;
        });
    }
    if (!(await abortLeftovers(client, Bucket, Key, cleanup)) || !aborted) input.onAbortUnconfirmed?.();
    // The source's own error (integrity, CDN, size, shutdown) explains more than what it caused.
    if (storageError === undefined) throw err;
    throw new StorageFailedError(`The bucket refused or failed the upload: ${describe(storageError)}`, {
      cause: storageError,
    });
  } finally {
    input.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Aborts any multipart upload still open for `key`: the guarantee that a failed persist leaves
 * nothing behind must not depend on the SDK winning every race. Best effort (the storage may be
 * the thing that failed): resolves with whether the listing and every abort succeeded, so the
 * caller can leave the rest to the sweeper.
 */
export async function abortLeftovers(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    const { AbortMultipartUploadCommand, ListMultipartUploadsCommand } = await loadClientS3();
    const opts = signal ? { abortSignal: signal } : {};
    const r = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }), opts);
    for (const u of r.Uploads ?? []) {
      if (u.Key === key && u.UploadId)
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.UploadId }), opts);
    }
    return true;
  } catch (err) {
    // No such bucket (or upload): nothing can be open there.
    return status(err) === 404;
  }
}

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

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
