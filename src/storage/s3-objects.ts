import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { MediaNotFoundError, RangeNotSatisfiableError, StorageFailedError } from '../errors.js';
import { loadClientS3, loadPresigner } from './aws-sdk.js';
import { presigningClient } from './s3-clients.js';
import { describe } from './s3-upload.js';
import type { S3Settings } from './s3-settings.js';

/**
 * The URL handed out for an object: public when a public base URL is set, else presigned (for
 * the presign endpoint, when one is set). A presigned URL carries `response-content-disposition`,
 * so a browser saves the file by its name.
 */
export async function objectUrl(
  client: S3Client,
  s: S3Settings,
  bucket: string,
  key: string,
  disposition?: string,
): Promise<string> {
  if (s.publicBaseUrl)
    return `${s.publicBaseUrl.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const [{ GetObjectCommand }, { getSignedUrl }, signer] = await Promise.all([
    loadClientS3(),
    loadPresigner(),
    presigningClient(client, s),
  ]);
  const command = new GetObjectCommand({
    Bucket: bucket,
    Key: key,
    ...(disposition ? { ResponseContentDisposition: disposition } : {}),
  });
  return getSignedUrl(signer, command, { expiresIn: s.presignExpiresSeconds });
}

export interface StoredObject {
  status: 200 | 206;
  body: Readable;
  contentLength: number | null;
  contentRange: string | null;
}

/** Reads an object (or a `Range` of it) as a stream. */
export async function readObject(
  client: S3Client,
  bucket: string,
  key: string,
  range: string | undefined,
  signal: AbortSignal,
): Promise<StoredObject> {
  const { GetObjectCommand } = await loadClientS3();
  try {
    const r = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }),
      { abortSignal: signal },
    );
    return {
      status: r.ContentRange ? 206 : 200,
      body: r.Body as Readable,
      contentLength: r.ContentLength ?? null,
      contentRange: r.ContentRange ?? null,
    };
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 416) {
      const size = Number(
        /\/(\d+)$/.exec(
          String((err as { $response?: { headers?: Record<string, string> } }).$response?.headers?.['content-range']),
        )?.[1],
      );
      throw new RangeNotSatisfiableError(Number.isFinite(size) ? size : 0);
    }
    if (status === 404) throw new MediaNotFoundError();
    throw new StorageFailedError(`Reading the stored object failed: ${describe(err)}`, { cause: err });
  }
}

/** Whether the object is (still) in the bucket; throws STORAGE_FAILED when the bucket cannot tell. */
export async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  const { HeadObjectCommand } = await loadClientS3();
  try {
    await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw new StorageFailedError(`Checking the stored object failed: ${describe(err)}`, { cause: err });
  }
}

/** Checks that the bucket exists and the credentials may use it; returns the storage's reason when not. */
export async function probeBucket(client: S3Client, bucket: string): Promise<string | null> {
  const { HeadBucketCommand } = await loadClientS3();
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(10_000) });
    return null;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return `bucket "${bucket}" does not exist (HTTP 404)`;
    if (status === 403)
      return `access to bucket "${bucket}" denied: check the access key, secret and policy (HTTP 403)`;
    if (status === 301) return `bucket "${bucket}" is in another region (HTTP 301)`;
    return describe(err);
  }
}

/** Deletes an object; one that is already gone counts as deleted. */
export async function deleteObject(client: S3Client, bucket: string, key: string): Promise<void> {
  const { DeleteObjectCommand } = await loadClientS3();
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), {
      abortSignal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return;
    throw new StorageFailedError(`Deleting the stored object failed: ${describe(err)}`, { cause: err });
  }
}
