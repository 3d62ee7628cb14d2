import type { S3Client } from '@aws-sdk/client-s3';
import { loadClientS3 } from './aws-sdk.js';

export interface StrayQuery {
  /** Uploads started before this are candidates. */
  olderThan: Date;
  /** `bucket/key` of uploads a live record claims: never touched. */
  live: Set<string>;
  dryRun: boolean;
}

/**
 * Lists the multipart uploads under `prefix` started before `olderThan` that no live upload
 * record claims, and aborts them (unless `dryRun`). Every call is bounded by the client's
 * deadlines; a listing failure is returned, never thrown (the next sweep tries again).
 */
export async function abortStrays(o: StrayQuery & { client: S3Client; bucket: string; prefix: string }) {
  const { AbortMultipartUploadCommand, ListMultipartUploadsCommand } = await loadClientS3();
  let found = 0;
  let aborted = 0;
  try {
    const live = o.live;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const r = await o.client.send(
        new ListMultipartUploadsCommand({
          Bucket: o.bucket,
          Prefix: o.prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const u of r.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= o.olderThan || live.has(`${o.bucket}/${u.Key}`))
          continue;
        found++;
        if (o.dryRun) continue;
        await o.client.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      if (!r.IsTruncated) break;
      keyMarker = r.NextKeyMarker;
      uploadIdMarker = r.NextUploadIdMarker;
    }
    return { found, aborted, error: null };
  } catch (err) {
    return { found, aborted, error: err };
  }
}
