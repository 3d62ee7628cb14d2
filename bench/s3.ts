/**
 * The S3 endpoint the persist benchmark writes to: TEST_S3_* from the environment, else the local
 * gateway that scripts/s3-gateway-start.sh starts (or finds running) and describes on stdout.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function resolveS3(root: string): S3Endpoint {
  let env: Record<string, string | undefined> = process.env;
  if (!env.TEST_S3_ENDPOINT) {
    process.stdout.write('starting the local S3 gateway (scripts/s3-gateway-start.sh)…\n');
    const r = spawnSync('bash', [join(root, 'scripts/s3-gateway-start.sh')], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`scripts/s3-gateway-start.sh failed (${String(r.status)})`);
    env = Object.fromEntries(
      r.stdout.split('\n').flatMap((l) => {
        const m = /^(TEST_S3_\w+)=(.*)$/.exec(l.trim());
        return m ? [[m[1]!, m[2]!]] : [];
      }),
    );
  }
  const {
    TEST_S3_ENDPOINT: endpoint,
    TEST_S3_ACCESS_KEY_ID: accessKeyId,
    TEST_S3_SECRET_ACCESS_KEY: secretAccessKey,
  } = env;
  if (!endpoint || !accessKeyId || !secretAccessKey)
    throw new Error('No S3 endpoint: set TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY.');
  return { endpoint, region: env.TEST_S3_REGION ?? 'us-east-1', accessKeyId, secretAccessKey };
}

/**
 * Client settings as the server uses them (src/storage/s3-clients.ts); plain JSON, so bench
 * children get them in their job.
 */
export function s3ClientConfig(e: S3Endpoint): S3ClientConfig {
  return {
    endpoint: e.endpoint,
    region: e.region,
    forcePathStyle: true,
    credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  };
}

/** The server's S3_* environment for `bucket`. */
export const serverS3Env = (
  e: S3Endpoint,
  bucket: string,
  partSize: number,
  queueSize: number,
): Record<string, string> => ({
  S3_ENDPOINT: e.endpoint,
  S3_REGION: e.region,
  S3_BUCKET: bucket,
  S3_ACCESS_KEY_ID: e.accessKeyId,
  S3_SECRET_ACCESS_KEY: e.secretAccessKey,
  S3_FORCE_PATH_STYLE: 'true',
  S3_PART_SIZE_BYTES: String(partSize),
  S3_QUEUE_SIZE: String(queueSize),
});

/**
 * The local gateway (scripts/s3-gateway-start.sh) frees a deleted object's data only when its
 * garbage collector runs, two hours later by default, and it keeps data in RAM (3 GiB): a few
 * 256 MiB objects "deleted" fill it, and then every write hangs. For that gateway this returns a
 * function running `radosgw-admin gc process --include-all` (≈0.1 s); for other endpoints, a no-op.
 */
export function gatewayGc(root: string, endpoint: string): () => void {
  const home = process.env.RGW_HOME ?? join(root, '.rgw');
  const url = new URL(endpoint);
  const port = (() => {
    try {
      return readFileSync(join(home, 'run/port'), 'utf8').trim();
    } catch {
      return null;
    }
  })();
  if (
    !['127.0.0.1', 'localhost'].includes(url.hostname) ||
    port !== url.port ||
    !existsSync(join(home, 'run/ceph.conf'))
  )
    return () => undefined;
  // The library path as the start script builds it.
  const script = `cd "$1" && R=$PWD/root && CL=$(dirname "$(ls "$R"/usr/lib/*/ceph/libceph-common.so.* | head -n1)") && MA=$(dirname "$CL") &&
    LD_LIBRARY_PATH=$MA:$CL:$R/lib/$(basename "$MA"):$R/usr/lib:$R/usr/lib/ceph "$R/usr/bin/radosgw-admin" -c run/ceph.conf -n client.admin gc process --include-all`;
  let warned = false;
  return () => {
    const r = spawnSync('bash', ['-c', script, 'gc', home], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0 && !warned) {
      warned = true;
      process.stderr.write(
        `warning: radosgw-admin gc process failed; deleted objects stay in the gateway's RAM: ${r.stderr.slice(0, 300)}\n`,
      );
    }
  };
}

/** A fresh bucket; `remove()` deletes whatever is left in it (objects, open uploads), then it. */
export async function tempBucket(client: S3Client, gc: () => void = () => undefined) {
  const bucket = `titan-bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    /** Throws unless `key` holds `size` bytes, then deletes it (the gateway keeps objects in RAM). */
    async checkAndDelete(key: string, size: number) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        if (head.ContentLength !== size)
          throw new Error(`s3://${bucket}/${key} holds ${String(head.ContentLength)} bytes, not ${size}`);
      } finally {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        gc();
      }
    },
    async remove() {
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      for (const u of uploads.Uploads ?? [])
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      for (let token: string | undefined; ;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
        if (!page.IsTruncated) break;
        token = page.NextContinuationToken;
      }
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      gc();
    },
  };
}
