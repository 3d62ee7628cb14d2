/**
 * The peer, in its own process so its memory is measured apart: Baileys'
 * `downloadMediaMessage(msg, 'buffer')` from the CDN, then the buffer written to a file (mode
 * `file`, what the popular gateways do) or stored with one `PutObject` (mode `put`, their way to
 * persist). Baileys decrypts only: it checks neither the MAC nor a hash.
 *
 * Talks to its parent over IPC: sends `ready` once loaded and warmed up (one 64 KiB ranged
 * download; in mode `put` also one 64 KiB PutObject, deleted again), waits for `go`, sends `done`
 * with timings, then stays alive until the parent disconnects (so the parent can read its VmHWM).
 * Usage (forked): peer-download.mjs '<json PeerJob>'
 */
import { writeFile } from 'node:fs/promises';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { downloadMediaMessage, type WAMessage } from '@whiskeysockets/baileys';
import { pino } from 'pino';

export interface PeerJob {
  url: string;
  mediaKey: string;
  mimetype: string;
  fileLength: number;
  /** Mode `file`: where to write the media. */
  out?: string;
  /** Mode `put`: where to store it (S3 client settings as plain JSON). */
  s3?: { client: S3ClientConfig; bucket: string; key: string };
}

export type PeerMessage = { type: 'ready' } | { type: 'done'; bytes: number; downloadMs: number; totalMs: number };

const send = (m: PeerMessage): void => void process.send?.(m);

const job = JSON.parse(process.argv[2] ?? '{}') as PeerJob;
const message: WAMessage = {
  key: { remoteJid: '15550009999@s.whatsapp.net', fromMe: false, id: '3EB0BENCHPEER' },
  messageTimestamp: Math.floor(Date.now() / 1000),
  message: {
    videoMessage: {
      url: job.url,
      mediaKey: Buffer.from(job.mediaKey, 'base64'),
      mimetype: job.mimetype,
      fileLength: job.fileLength,
    },
  },
};
const ctx = {
  logger: pino({ level: 'silent' }),
  reuploadRequest: async (): Promise<WAMessage> => {
    throw new Error('The benchmark CDN never expires media.');
  },
};

/** Mode `put` only: the SDK is loaded only then, so mode `file` pays nothing for it. */
const s3 = job.s3 ? { ...job.s3, sdk: await import('@aws-sdk/client-s3') } : null;
const client = s3 ? new s3.sdk.S3Client(s3.client) : null;
async function store(buffer: Buffer, key: string): Promise<void> {
  if (s3 && client)
    await client.send(
      new s3.sdk.PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: buffer, ContentType: job.mimetype }),
    );
  else await writeFile(job.out!, buffer);
}

process.once('message', () => {
  void (async () => {
    const started = performance.now();
    const buffer = await downloadMediaMessage(message, 'buffer', {}, ctx);
    const downloaded = performance.now();
    await store(buffer, s3?.key ?? '');
    send({
      type: 'done',
      bytes: buffer.length,
      downloadMs: downloaded - started,
      totalMs: performance.now() - started,
    });
  })().catch((err: unknown) => {
    process.stderr.write(`peer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
});
process.once('disconnect', () => process.exit(0));
const warm = await downloadMediaMessage(message, 'buffer', { startByte: 0, endByte: 64 * 1024 }, ctx);
if (s3 && client) {
  await store(warm, `${s3.key}.warm-up`);
  await client.send(new s3.sdk.DeleteObjectCommand({ Bucket: s3.bucket, Key: `${s3.key}.warm-up` }));
}
send({ type: 'ready' });
