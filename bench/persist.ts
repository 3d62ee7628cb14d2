/**
 * Persist throughput and memory: the same encrypted video stored in the same (fresh) bucket by
 *   baseline  lib-storage Upload of the plaintext from a local file (upload-file.ts): the upload alone
 *   peer      Baileys downloadMediaMessage(…, 'buffer') + one PutObject (peer-download.ts, mode put)
 *   ours      POST …/media/{id}/persist on the built server: CDN → decrypt/verify → multipart upload
 * each in its own process, with the server's part size and queue size passed to both uploaders.
 * Each party first stores one 64 KiB object (deleted again) to warm up its S3 client; every
 * object is checked (HeadObject size) and deleted right after its measurement, since the local
 * gateway keeps objects in RAM.
 */
import { createDecipheriv } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import { MAC_LENGTH } from '../src/media/decrypt-stream.js';
import { deriveMediaKeys } from '../src/media/media-keys.js';
import { runIpcChild, type Cdn } from './children.js';
import type { EncryptedMediaFile } from './crypto-ceiling.js';
import { MiB, cpuMeter, monotonicMicros, procMemory, sampleRss, topSelfTime, type SelfTime } from './measure.js';
import type { PeerJob, PeerMessage } from './peer-download.js';
import { summarize, type MemoryCheck, type Sample, type Summary } from './report.js';
import { s3ClientConfig, serverS3Env, type S3Endpoint } from './s3.js';
import { ingest, provision, startServer, type BenchMedia } from './server.js';
import type { UploadJob, UploadMessage } from './upload-file.js';

export interface PersistContext {
  root: string;
  entry: string;
  s3: S3Endpoint;
  bucket: string;
  /** Throws unless the object holds `size` bytes; deletes it either way. */
  checkAndDelete(key: string, size: number): Promise<void>;
  partSize: number;
  queueSize: number;
  /** A 64 KiB media on its own CDN, persisted once by each server before it is measured. */
  warmUp: BenchMedia;
}

export interface PersistResults {
  sizeMiB: number;
  partSizeBytes: number;
  queueSize: number;
  endpoint: string;
  bucket: string;
  baseline?: Summary;
  peer?: Summary;
  ours?: Summary;
  ratios: Record<string, number>;
  memoryCheck?: MemoryCheck;
  profile?: { file: string | null; mibPerSec: number; topSelfTime: SelfTime[] };
}

/** Decrypts the media into `path`: the plaintext the baseline uploads. */
export async function writePlaintext(media: EncryptedMediaFile, path: string): Promise<string> {
  const { iv, cipherKey } = deriveMediaKeys(media.mediaKey, media.type);
  const source = createReadStream(media.path, { end: media.encLength - MAC_LENGTH - 1, highWaterMark: MiB });
  await pipeline(source, createDecipheriv('aes-256-cbc', cipherKey, iv), createWriteStream(path));
  return path;
}

const key = (party: string) => `bench/${party}-${Date.now().toString(36)}.mp4`;

export async function measureBaseline(ctx: PersistContext, plainFile: string, size: number): Promise<Sample> {
  const job: UploadJob = {
    file: plainFile,
    mimetype: 'video/mp4',
    partSize: ctx.partSize,
    queueSize: ctx.queueSize,
    s3: { client: s3ClientConfig(ctx.s3), bucket: ctx.bucket, key: key('baseline') },
  };
  const r = await runIpcChild<UploadMessage>(ctx.root, 'bench/upload-file.ts', job);
  await ctx.checkAndDelete(job.s3.key, size);
  if (r.done.type !== 'done') throw new Error('baseline upload did not finish');
  const mib = size / MiB;
  return {
    mibPerSec: mib / (r.done.totalMs / 1000),
    mibPerCpuSecond: mib / r.cpu[0]!,
    peakRss: r.peakRss,
    sampledRss: r.sampledRss,
    idleRss: r.idleRss,
    cpu: { server: r.cpu[0]! / r.wall, cdn: 0 },
  };
}

export async function measurePeerPut(ctx: PersistContext, media: BenchMedia, cdn: Cdn): Promise<Sample> {
  const job: PeerJob = {
    url: media.url,
    mediaKey: media.mediaKey.toString('base64'),
    mimetype: media.mimetype,
    fileLength: media.fileLength,
    s3: { client: s3ClientConfig(ctx.s3), bucket: ctx.bucket, key: key('peer') },
  };
  const r = await runIpcChild<PeerMessage>(ctx.root, 'bench/peer-download.ts', job, [cdn.pid]);
  await ctx.checkAndDelete(job.s3!.key, media.fileLength);
  if (r.done.type !== 'done' || r.done.bytes !== media.fileLength)
    throw new Error(`peer returned ${r.done.type === 'done' ? r.done.bytes : '?'} bytes, not ${media.fileLength}`);
  const mib = media.fileLength / MiB;
  const [self, cdnCpu] = r.cpu as [number, number];
  return {
    mibPerSec: mib / (r.done.totalMs / 1000),
    downloadMiBps: mib / (r.done.downloadMs / 1000),
    mibPerCpuSecond: mib / self,
    peakRss: r.peakRss,
    sampledRss: r.sampledRss,
    idleRss: r.idleRss,
    cpu: { server: self / r.wall, cdn: cdnCpu / r.wall },
  };
}

async function persistOnce(url: string, auth: string): Promise<{ key: string; size: number }> {
  const res = await request(url.replace(/\/download$/, '/persist'), {
    method: 'POST',
    headers: { authorization: auth },
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`persist → ${res.statusCode}: ${text}`);
  return (JSON.parse(text) as { data: { key: string; size: number } }).data;
}

/** Ours, on a fresh server: warm-up persist of the small media, then the measured one. */
export async function measureOursPersist(
  ctx: PersistContext,
  media: BenchMedia,
  cdn: Cdn,
  nodeArgs: string[] = [],
): Promise<Sample> {
  const server = await startServer({
    entry: ctx.entry,
    maxBytes: 4 * 1024 * MiB,
    nodeArgs,
    env: serverS3Env(ctx.s3, ctx.bucket, ctx.partSize, ctx.queueSize),
  });
  try {
    const warm = await persistOnce(await provision(server, ctx.warmUp), server.auth);
    await ctx.checkAndDelete(warm.key, ctx.warmUp.fileLength);
    const url = await ingest(server, media);
    const idleRss = procMemory(server.pid, 'VmRSS');
    const sampler = sampleRss(server.pid);
    const meter = cpuMeter([server.pid, cdn.pid]);
    const from = monotonicMicros();
    const started = performance.now();
    const stored = await persistOnce(url, server.auth);
    const seconds = (performance.now() - started) / 1000;
    const to = monotonicMicros();
    const cpu = meter();
    const sampledRss = sampler.stop();
    const peakRss = procMemory(server.pid, 'VmHWM');
    await ctx.checkAndDelete(stored.key, media.fileLength);
    if (stored.size !== media.fileLength)
      throw new Error(`persist reported ${stored.size} bytes, not ${media.fileLength}`);
    const [serverCpu, cdnCpu] = cpu.used as [number, number];
    const mib = media.fileLength / MiB;
    return {
      mibPerSec: mib / seconds,
      mibPerCpuSecond: mib / serverCpu,
      peakRss,
      sampledRss,
      idleRss,
      cpu: { server: serverCpu / cpu.wall, cdn: cdnCpu / cpu.wall },
      window: { from, to },
    };
  } finally {
    await server.stop();
  }
}

/** Runs baseline, peer and ours interleaved, `runs` times; fills the summaries and ratios. */
export async function benchPersist(
  ctx: PersistContext,
  media: BenchMedia,
  plainFile: string,
  cdn: Cdn,
  runs: number,
  out: PersistResults,
): Promise<void> {
  const samples = { baseline: [] as Sample[], peer: [] as Sample[], ours: [] as Sample[] };
  for (let run = 1; run <= runs; run++) {
    samples.baseline.push(await measureBaseline(ctx, plainFile, media.fileLength));
    samples.peer.push(await measurePeerPut(ctx, media, cdn));
    samples.ours.push(await measureOursPersist(ctx, media, cdn));
    const [b, p, o] = [samples.baseline, samples.peer, samples.ours].map((s) => s.at(-1)!.mibPerSec.toFixed(1));
    process.stdout.write(`persist run ${run}/${runs}: baseline ${b}, peer ${p}, ours ${o} MiB/s\n`);
  }
  const [baseline, peer, ours] = [summarize(samples.baseline), summarize(samples.peer), summarize(samples.ours)];
  Object.assign(out, { baseline, peer, ours });
  out.ratios.oursOverBaseline = ours.medianMiBps / baseline.medianMiBps;
  out.ratios.oursOverPeer = ours.medianMiBps / peer.medianMiBps;
  out.ratios.oursOverBaselinePerCpuSecond = ours.medianMiBPerCpuSecond / baseline.medianMiBPerCpuSecond;
  out.ratios.oursOverPeerPerCpuSecond = ours.medianMiBPerCpuSecond / peer.medianMiBPerCpuSecond;
  if (ours.peakRssBytes && peer.peakRssBytes)
    out.ratios.oursOverPeerPeakRss = ours.peakRssBytes.median / peer.peakRssBytes.median;
}

/** One persist of ours under `--cpu-prof`: the top self-time functions during the transfer. */
export async function profilePersist(
  ctx: PersistContext,
  media: BenchMedia,
  cdn: Cdn,
): Promise<NonNullable<PersistResults['profile']>> {
  const dir = join(tmpdir(), `titan-bench-persist-profile-${Date.now()}`);
  mkdirSync(dir);
  const s = await measureOursPersist(ctx, media, cdn, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  return {
    file: file ? join(dir, file) : null,
    mibPerSec: s.mibPerSec,
    topSelfTime: file ? topSelfTime(join(dir, file), s.window) : [],
  };
}
