/**
 * The persist baseline, in its own process: lib-storage `Upload` of the plaintext from a local
 * file (fs.createReadStream) with the server's part size and queue size, i.e. the upload alone,
 * without CDN, decryption or verification. IPC as peer-download.ts: `ready` after a warm-up
 * (one 64 KiB PutObject, deleted again), `go`, `done`, then alive until disconnected.
 * Usage (forked): upload-file.mjs '<json UploadJob>'
 */
import { createReadStream, statSync } from 'node:fs';
import { DeleteObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

export interface UploadJob {
  file: string;
  mimetype: string;
  partSize: number;
  queueSize: number;
  s3: { client: S3ClientConfig; bucket: string; key: string };
}

export type UploadMessage = { type: 'ready' } | { type: 'done'; bytes: number; totalMs: number };

const send = (m: UploadMessage): void => void process.send?.(m);
const job = JSON.parse(process.argv[2] ?? '{}') as UploadJob;
const client = new S3Client(job.s3.client);
const { bucket: Bucket, key: Key } = job.s3;

process.once('message', () => {
  void (async () => {
    const started = performance.now();
    const upload = new Upload({
      client,
      params: { Bucket, Key, Body: createReadStream(job.file), ContentType: job.mimetype },
      partSize: job.partSize,
      queueSize: job.queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
    send({ type: 'done', bytes: statSync(job.file).size, totalMs: performance.now() - started });
  })().catch((err: unknown) => {
    process.stderr.write(
      `baseline upload failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
});
process.once('disconnect', () => process.exit(0));
await client.send(new PutObjectCommand({ Bucket, Key: `${Key}.warm-up`, Body: Buffer.alloc(64 * 1024) }));
await client.send(new DeleteObjectCommand({ Bucket, Key: `${Key}.warm-up` }));
send({ type: 'ready' });
