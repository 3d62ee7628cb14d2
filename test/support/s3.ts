import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';

/** The suite's S3 endpoint (see global-setup.ts). */
export const s3Endpoint = () => inject('s3');

export function testS3Client(): S3Client {
  const e = s3Endpoint();
  return new S3Client({
    endpoint: e.endpoint,
    region: e.region,
    forcePathStyle: true,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A fresh bucket for one test file. */
export async function createBucket(client: S3Client, prefix = 'titan-test'): Promise<string> {
  const name = `${prefix}-${randomBytes(5).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

export async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((o) => o.Key!);
}

export async function listVersions(client: S3Client, bucket: string, key: string) {
  const r = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return r.Versions ?? [];
}

/** Multipart uploads started and not completed or aborted: must always be empty after a failure. */
export async function pendingUploads(client: S3Client, bucket: string): Promise<string[]> {
  const r = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => u.Key!);
}

export async function getObject(client: S3Client, bucket: string, key: string) {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    bytes: Buffer.from(await r.Body!.transformToByteArray()),
    contentType: r.ContentType,
    metadata: r.Metadata ?? {},
  };
}

export async function headObject(client: S3Client, bucket: string, key: string) {
  return client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

/** The account-settings body that points at `bucket` on the suite's endpoint. */
export function settingsBody(bucket: string, extra: Record<string, unknown> = {}) {
  const e = s3Endpoint();
  return {
    s3: {
      endpoint: e.endpoint,
      region: e.region,
      bucket,
      accessKeyId: e.accessKeyId,
      secretAccessKey: e.secretAccessKey,
      forcePathStyle: true,
      ...extra,
    },
  };
}

/** The server's default-bucket environment (S3_*) for `bucket` on the suite's endpoint. */
export function serverS3Env(bucket: string): Record<string, string> {
  const e = s3Endpoint();
  return {
    S3_ENDPOINT: e.endpoint,
    S3_REGION: e.region,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: e.accessKeyId,
    S3_SECRET_ACCESS_KEY: e.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  };
}
