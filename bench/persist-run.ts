/** The persist parts of `npm run bench`: throughput (persist) and the memory check (persist-memory). */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { startCdn, type Cdn } from './children.js';
import { writeEncryptedMedia, type EncryptedMediaFile } from './crypto-ceiling.js';
import { MB, MiB } from './measure.js';
import {
  benchPersist,
  measureOursPersist,
  profilePersist,
  writePlaintext,
  type PersistContext,
  type PersistResults,
} from './persist.js';
import { atLeast, memoryCheck, type Target } from './report.js';
import { gatewayGc, resolveS3, s3ClientConfig, tempBucket } from './s3.js';
import { benchMedia, type BenchMedia } from './server.js';

/** The server's defaults (S3_PART_SIZE_BYTES, S3_QUEUE_SIZE), passed explicitly to every uploader. */
export const PART_SIZE = 5 * MiB;
export const QUEUE_SIZE = 4;
const RSS_LIMIT = 200 * MB;

export async function runPersistParts(o: {
  root: string;
  entry: string;
  scratch: string;
  runs: number;
  /** The video and its CDN (required for `persist`). */
  video: { media: EncryptedMediaFile; cdn: Cdn; bm: BenchMedia } | undefined;
  persist: boolean;
  /** Size of the memory check's file; null: no memory check. */
  memorySizeMiB: number | null;
  profile: boolean;
  targets: Target[];
}): Promise<PersistResults> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const s3 = resolveS3(o.root);
  const client = new S3Client(s3ClientConfig(s3));
  const bucket = await tempBucket(client, gatewayGc(o.root, s3.endpoint));
  const cleanups: (() => Promise<void> | void)[] = [() => bucket.remove(), () => client.destroy()];
  const out: PersistResults = {
    sizeMiB: (o.video?.media.plainLength ?? 0) / MiB,
    partSizeBytes: PART_SIZE,
    queueSize: QUEUE_SIZE,
    endpoint: s3.endpoint,
    bucket: bucket.bucket,
    ratios: {},
  };
  try {
    const warm = await writeEncryptedMedia(join(o.scratch, 'warm-up.enc'), 64 * 1024);
    const warmCdn = await startCdn(o.root, warm.path);
    cleanups.unshift(() => warmCdn.stop());
    const ctx: PersistContext = {
      root: o.root,
      entry: o.entry,
      s3,
      bucket: bucket.bucket,
      checkAndDelete: (key, size) => bucket.checkAndDelete(key, size),
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      warmUp: benchMedia(warm, warmCdn.origin),
    };

    if (o.persist && o.video) {
      const { media, cdn, bm } = o.video;
      process.stdout.write(
        `persist: ${out.sizeMiB} MiB to ${s3.endpoint}/${bucket.bucket}, part size ${PART_SIZE / MiB} MiB × queue ${QUEUE_SIZE}…\n`,
      );
      const plain = await writePlaintext(media, join(o.scratch, 'plain.mp4'));
      try {
        await benchPersist(ctx, bm, plain, cdn, o.runs, out);
      } finally {
        rmSync(plain, { force: true });
      }
      const { oursOverBaseline, oursOverPeer } = out.ratios as { oursOverBaseline: number; oursOverPeer: number };
      o.targets.push(
        atLeast('persist: ours ≥ 0.8 × baseline upload', oursOverBaseline, 0.8),
        atLeast('persist: ours ≥ 1.3 × peer', oursOverPeer, 1.3),
      );
      if (o.profile) out.profile = await profilePersist(ctx, bm, cdn);
    }

    if (o.memorySizeMiB !== null) {
      process.stdout.write(`persist memory check: preparing a ${o.memorySizeMiB} MiB encrypted video…\n`);
      const big = await writeEncryptedMedia(join(o.scratch, `persist-${o.memorySizeMiB}.enc`), o.memorySizeMiB * MiB);
      const cdn = await startCdn(o.root, big.path);
      try {
        const s = await measureOursPersist(ctx, benchMedia(big, cdn.origin), cdn);
        const m = (out.memoryCheck = memoryCheck(s, o.memorySizeMiB, RSS_LIMIT));
        o.targets.push({
          name: `persist: server peak RSS ≤ 200 MB (${o.memorySizeMiB} MiB persist)`,
          value: s.peakRss! / MB,
          target: '≤ 200',
          pass: m.pass,
        });
      } finally {
        await cdn.stop();
        rmSync(big.path, { force: true });
      }
    }
  } finally {
    for (const c of cleanups) await c();
  }
  return out;
}
