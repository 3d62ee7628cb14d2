import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { loadClientS3 } from './aws-sdk.js';

/** `S3_CHECKSUMS`: always send SHA-256 checksums, never, or when the store is found to verify them. */
export type ChecksumMode = 'auto' | 'on' | 'off';

const PROBE = Buffer.from('titan-media checksum probe\n');
const b64sha = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/**
 * Whether the store verifies `x-amz-checksum-sha256`: it must refuse a wrong checksum and accept
 * the right one. A store that ignores the header (no flexible checksums, e.g. older Ceph RGW)
 * accepts the wrong one; anything unexpected counts as "no" too, so uploads never depend on it.
 * The probe object is deleted afterwards.
 */
export async function storeVerifiesChecksums(client: S3Client, bucket: string, key: string): Promise<boolean> {
  const { PutObjectCommand, DeleteObjectCommand } = await loadClientS3();
  const put = (checksum: string) =>
    client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: PROBE,
        ContentLength: PROBE.length,
        ChecksumSHA256: checksum,
      }),
      { abortSignal: AbortSignal.timeout(10_000) },
    );
  try {
    try {
      await put(b64sha(Buffer.from('not the probe')));
      return false;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 400) return false;
    }
    await put(b64sha(PROBE));
    return true;
  } catch {
    return false;
  } finally {
    await client
      .send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(10_000) })
      .catch(() => undefined);
  }
}
