import type { S3Client } from '@aws-sdk/client-s3';
import { loadClientS3 } from './aws-sdk.js';
import { abortLeftovers } from './s3-upload.js';

/**
 * Aborts a recorded upload: its multipart upload by id (gone already counts as aborted), then
 * any other still open for its key (one whose id never got recorded). Resolves with whether
 * the storage confirmed it all.
 */
export interface RecordedUpload {
  bucket: string;
  object_key: string;
  upload_id: string | null;
}

export async function abortUpload(client: S3Client, u: RecordedUpload, signal: AbortSignal): Promise<boolean> {
  if (u.upload_id) {
    const { AbortMultipartUploadCommand } = await loadClientS3();
    try {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: u.bucket, Key: u.object_key, UploadId: u.upload_id }),
        { abortSignal: signal },
      );
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) return false;
    }
  }
  return abortLeftovers(client, u.bucket, u.object_key, signal);
}
