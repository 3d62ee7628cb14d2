/**
 * `npm run bench`: download throughput and server memory, against baselines measured in the
 * same run on the same encrypted file, each party in its own process:
 *   ceiling  decrypt + HMAC + SHA-256 in a plain loop, in a fresh process (ceiling-child.ts)
 *   peer     Baileys downloadMediaMessage(…, 'buffer') + write to a file (peer-download.ts)
 *   ours     POST …/media/{id}/download on the built server (dist/), by curl to /dev/null
 *   relay    a plain undici → node:http relay of the same file without crypto (relay-server.ts),
 *            by curl: what moving the bytes alone costs in Node on this machine
 *   memory   ours on a larger file: the server's peak RSS
 * then persist to S3 (persist.ts: baseline upload, peer, ours; persist-memory: ours on a larger
 * file), webhook delivery (webhooks.ts) and several downloads at once on 1 and 2 workers
 * (workers.ts).
 * A fake CDN process (cdn-server.ts) serves the file. Each measurement uses a fresh serving
 * process, warmed up by one 64 KiB ranged download; its memory is the VmHWM of that process
 * after the transfer (its whole lifetime), with VmRSS sampled every 20 ms as a cross-check.
 * Prints a table and writes bench/results/latest.json; exits non-zero on a missed target only
 * with --strict.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { runIpcChild, startCdn as startCdnAt, startRelay, type Cdn } from './children.js';
import { curlPost } from './curl.js';
import { ceilingPass, writeEncryptedMedia, type EncryptedMediaFile } from './crypto-ceiling.js';
import { MB, MiB, cpuMeter, monotonicMicros, procMemory, profileBreakdown, sampleRss, topSelfTime } from './measure.js';
import type { PeerJob, PeerMessage } from './peer-download.js';
import { runPersistParts } from './persist-run.js';
import { atLeast, memoryCheck, printReport, summarize, type Results, type Sample } from './report.js';
import { benchMedia, ensureBuilt, provision, startServer, type BenchMedia } from './server.js';
import { benchWebhooks, formatWebhookResults } from './webhooks.js';
import { benchWorkers, formatWorkerResults } from './workers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PARTS = [
  'ceiling',
  'peer',
  'ours',
  'relay',
  'memory',
  'persist',
  'persist-memory',
  'webhooks',
  'workers',
] as const;
type Part = (typeof PARTS)[number];
const RSS_LIMIT = 150 * MB;
const USAGE = `npm run bench -- [--size-mib 256] [--runs 3]
                     [--only ceiling,peer,ours|download,relay,memory,persist,persist-memory,webhooks,workers]
                     [--memory-size-mib 1024] [--persist-memory-size-mib 1024]
                     [--webhook-messages 2000] [--worker-downloads 4] [--profile] [--strict]
  persist needs S3: TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY
  (TEST_S3_REGION), else scripts/s3-gateway-start.sh is run; webhooks also uses PostgreSQL
  (TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test), and workers runs on it.`;

function usageError(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        'size-mib': { type: 'string', default: '256' },
        runs: { type: 'string', default: '3' },
        only: { type: 'string', multiple: true },
        'memory-size-mib': { type: 'string', default: '1024' },
        'persist-memory-size-mib': { type: 'string', default: '1024' },
        'webhook-messages': { type: 'string', default: '2000' },
        'worker-downloads': { type: 'string', default: '4' },
        profile: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
})();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const positive = (name: string, v: string): number => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : usageError(`--${name} must be a positive integer (got ${v}).`);
};
const sizeMiB = positive('size-mib', args['size-mib']);
const runs = positive('runs', args.runs);
const memorySizeMiB = positive('memory-size-mib', args['memory-size-mib']);
const persistMemorySizeMiB = positive('persist-memory-size-mib', args['persist-memory-size-mib']);
const webhookMessages = positive('webhook-messages', args['webhook-messages']);
const workerDownloads = positive('worker-downloads', args['worker-downloads']);
const parts = new Set<Part>(
  (args.only ?? [...PARTS])
    .flatMap((v) => v.split(','))
    .map((v) => {
      const p = v.trim() === 'download' ? 'ours' : v.trim();
      return (PARTS as readonly string[]).includes(p) ? (p as Part) : usageError(`--only: unknown part "${v}".`);
    }),
);

const startCdn = (file: string): Promise<Cdn> => startCdnAt(ROOT, file);

async function measureCeiling(media: EncryptedMediaFile, encSha256: boolean): Promise<Sample> {
  const { seconds, cpuSeconds } = await ceilingPass(ROOT, media, { encSha256 });
  return { mibPerSec: media.plainLength / MiB / seconds, mibPerCpuSecond: media.plainLength / MiB / cpuSeconds };
}

/** The crypto-free relay of the same CDN file, fresh per run and warmed up by a 64 KiB range. */
async function measureRelay(media: EncryptedMediaFile, cdn: Cdn, fileUrl: string): Promise<Sample> {
  const relay = await startRelay(ROOT, fileUrl);
  try {
    await curlPost(relay.origin, { range: 'bytes=0-65535' });
    const idleRss = procMemory(relay.pid, 'VmRSS');
    const meter = cpuMeter([relay.pid, cdn.pid]);
    const started = performance.now();
    const res = await curlPost(relay.origin, {});
    const seconds = (performance.now() - started) / 1000;
    const cpu = meter();
    const peakRss = procMemory(relay.pid, 'VmHWM');
    if (res.status !== 200 || res.bytes !== media.encLength)
      throw new Error(`relay → ${res.status}, ${res.bytes} bytes, not ${media.encLength}`);
    const [relayCpu, cdnCpu] = cpu.used as [number, number];
    const mib = media.encLength / MiB;
    return {
      mibPerSec: mib / seconds,
      mibPerCpuSecond: mib / relayCpu,
      peakRss,
      idleRss,
      cpu: { server: relayCpu / cpu.wall, cdn: cdnCpu / cpu.wall, client: res.cpu / cpu.wall },
    };
  } finally {
    await relay.stop();
  }
}

async function measurePeer(media: EncryptedMediaFile, cdn: Cdn, url: string, scratch: string): Promise<Sample> {
  const job: PeerJob = {
    url,
    mediaKey: media.mediaKey.toString('base64'),
    mimetype: 'video/mp4',
    fileLength: media.plainLength,
    out: join(scratch, 'peer-output.mp4'),
  };
  try {
    const { done, wall, cpu, peakRss, sampledRss, idleRss } = await runIpcChild<PeerMessage>(
      ROOT,
      'bench/peer-download.ts',
      job,
      [cdn.pid],
    );
    if (done.type !== 'done' || done.bytes !== media.plainLength)
      throw new Error(`peer returned ${done.type === 'done' ? done.bytes : '?'} bytes, not ${media.plainLength}`);
    const [server, cdnCpu] = cpu as [number, number];
    const mib = media.plainLength / MiB;
    return {
      mibPerSec: mib / (done.totalMs / 1000),
      downloadMiBps: mib / (done.downloadMs / 1000),
      peakRss,
      sampledRss,
      idleRss,
      cpu: { server: server / wall, cdn: cdnCpu / wall },
      mibPerCpuSecond: mib / server,
    };
  } finally {
    rmSync(job.out!, { force: true });
  }
}

async function measureOurs(entry: string, cdn: Cdn, media: BenchMedia, nodeArgs: string[] = []): Promise<Sample> {
  const server = await startServer({ entry, maxBytes: 4 * 1024 * MiB, nodeArgs });
  try {
    const url = await provision(server, media);
    const warm = await request(url, {
      method: 'POST',
      headers: { authorization: server.auth, range: 'bytes=0-65535' },
    });
    if (warm.statusCode !== 206) throw new Error(`warm-up download → ${warm.statusCode}: ${await warm.body.text()}`);
    await warm.body.arrayBuffer();
    const idleRss = procMemory(server.pid, 'VmRSS');
    const sampler = sampleRss(server.pid);
    const meter = cpuMeter([server.pid, cdn.pid]);
    const from = monotonicMicros();
    const started = performance.now();
    const res = await curlPost(url, { authorization: server.auth });
    const seconds = (performance.now() - started) / 1000;
    const to = monotonicMicros();
    const cpu = meter();
    const sampledRss = sampler.stop();
    const peakRss = procMemory(server.pid, 'VmHWM');
    // A failed MAC or hash check aborts the response (curl fails), so a complete body is a verified one.
    if (res.status !== 200 || res.bytes !== media.fileLength || res.contentLength !== String(media.fileLength)) {
      throw new Error(
        `download → ${res.status}, ${res.bytes} bytes (content-length ${res.contentLength}), not ${media.fileLength}`,
      );
    }
    const [serverCpu, cdnCpu] = cpu.used as [number, number];
    const mib = media.fileLength / MiB;
    return {
      mibPerSec: mib / seconds,
      mibPerCpuSecond: mib / serverCpu,
      peakRss,
      sampledRss,
      idleRss,
      cpu: { server: serverCpu / cpu.wall, cdn: cdnCpu / cpu.wall, client: res.cpu / cpu.wall },
      window: { from, to },
    };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'titan-bench-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(scratch, { recursive: true, force: true })];
  // Ctrl-C stops the children too (same process group); leave no media files behind.
  process.once('SIGINT', () => {
    rmSync(scratch, { recursive: true, force: true });
    process.exit(130);
  });
  const results: Results = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: { model: cpus()[0]?.model ?? 'unknown', count: cpus().length },
    sizeMiB,
    runs,
    parts: [...parts],
    method: {
      throughput: 'plaintext MiB / wall seconds; median of the runs, the parties interleaved run by run',
      warmUp:
        'each serving process (ours, peer, relay) is fresh and first serves one 64 KiB ranged download; each ceiling pass runs in a fresh process after a warm-up pass there',
      client: 'ours and relay are downloaded by curl to /dev/null',
      serverMemory:
        'VmHWM of the serving process after the transfer: its whole lifetime, start-up and warm-up included (VmRSS sampled every 20 ms as a cross-check)',
      ceilingInput: 'read from the page cache (the file was just written), 64 KiB chunks',
    },
    ratios: {},
    targets: [],
  };
  const { ratios, targets } = results;
  try {
    const has = (...ps: Part[]) => ps.some((p) => parts.has(p));
    const entry = has('ours', 'memory', 'persist', 'persist-memory', 'workers') ? ensureBuilt(ROOT) : '';

    // The video of the download and persist parts, and its CDN.
    let video: { media: EncryptedMediaFile; cdn: Cdn; bm: BenchMedia } | undefined;
    if (has('ceiling', 'peer', 'ours', 'persist', 'workers')) {
      process.stdout.write(`preparing a ${sizeMiB} MiB encrypted video…\n`);
      const media = await writeEncryptedMedia(join(scratch, `video-${sizeMiB}.enc`), sizeMiB * MiB);
      results.file = { plaintextBytes: media.plainLength, encryptedBytes: media.encLength };
      const cdn = await startCdn(media.path);
      cleanups.unshift(() => cdn.stop());
      video = { media, cdn, bm: benchMedia(media, cdn.origin) };
    }

    if (video && has('ceiling', 'peer', 'ours', 'relay')) {
      const { media, cdn, bm } = video;
      const samples = {
        ceiling: [] as Sample[],
        ceilingEncSha: [] as Sample[],
        peer: [] as Sample[],
        ours: [] as Sample[],
        relay: [] as Sample[],
      };
      for (let run = 1; run <= runs; run++) {
        const line: string[] = [];
        if (parts.has('ceiling')) {
          samples.ceiling.push(await measureCeiling(media, false));
          samples.ceilingEncSha.push(await measureCeiling(media, true));
          line.push(`ceiling ${samples.ceiling.at(-1)!.mibPerSec.toFixed(1)}`);
        }
        if (parts.has('peer')) {
          samples.peer.push(await measurePeer(media, cdn, bm.url, scratch));
          line.push(`peer ${samples.peer.at(-1)!.mibPerSec.toFixed(1)}`);
        }
        if (parts.has('ours')) {
          samples.ours.push(await measureOurs(entry, cdn, bm));
          line.push(`ours ${samples.ours.at(-1)!.mibPerSec.toFixed(1)}`);
        }
        if (parts.has('relay')) {
          samples.relay.push(await measureRelay(media, cdn, bm.url));
          line.push(`relay ${samples.relay.at(-1)!.mibPerSec.toFixed(1)}`);
        }
        process.stdout.write(`run ${run}/${runs}: ${line.join(', ')} MiB/s\n`);
      }
      for (const k of ['ceiling', 'ceilingEncSha', 'peer', 'ours', 'relay'] as const)
        if (samples[k].length) results[k] = summarize(samples[k]);

      if (args.profile && parts.has('ours')) {
        const dir = join(tmpdir(), `titan-bench-profile-${Date.now()}`);
        mkdirSync(dir);
        const s = await measureOurs(entry, cdn, bm, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
        const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        results.profile = {
          file: file ? join(dir, file) : null,
          mibPerSec: s.mibPerSec,
          topSelfTime: file ? topSelfTime(join(dir, file), s.window) : [],
          breakdown: file ? profileBreakdown(join(dir, file), s.window!, sizeMiB) : [],
        };
      }
    }

    const { ceiling, ceilingEncSha, peer, ours, relay } = results;
    if (ours && ceiling) {
      ratios.oursOverCeiling = ours.medianMiBps / ceiling.medianMiBps;
      targets.push(atLeast('ours ≥ 0.6 × ceiling', ratios.oursOverCeiling, 0.6));
      // CPU cost per byte, which noise from other load distorts far less than wall time.
      ratios.oursOverCeilingPerCpuSecond = ours.medianMiBPerCpuSecond / ceiling.medianMiBPerCpuSecond;
      targets.push(atLeast('ours ≥ 0.55 × ceiling per server CPU second', ratios.oursOverCeilingPerCpuSecond, 0.55));
    }
    if (ours && ceilingEncSha) ratios.oursOverCeilingEncSha = ours.medianMiBps / ceilingEncSha.medianMiBps;
    if (ours && peer) {
      ratios.oursOverPeer = ours.medianMiBps / peer.medianMiBps;
      targets.push({
        name: 'ours faster than peer',
        value: ratios.oursOverPeer,
        target: '> 1',
        pass: ratios.oursOverPeer > 1,
      });
    }
    if (ours && relay) ratios.oursOverRelay = ours.medianMiBps / relay.medianMiBps;
    if (relay && ceiling) ratios.relayOverCeiling = relay.medianMiBps / ceiling.medianMiBps;
    if (ours?.peakRssBytes && peer?.peakRssBytes)
      ratios.oursOverPeerPeakRss = ours.peakRssBytes.median / peer.peakRssBytes.median;

    if (parts.has('memory')) {
      process.stdout.write(`memory check: preparing a ${memorySizeMiB} MiB encrypted video…\n`);
      const big = await writeEncryptedMedia(join(scratch, `video-${memorySizeMiB}.enc`), memorySizeMiB * MiB);
      const cdn = await startCdn(big.path);
      try {
        const s = await measureOurs(entry, cdn, benchMedia(big, cdn.origin));
        const m = (results.memoryCheck = memoryCheck(s, memorySizeMiB, RSS_LIMIT));
        targets.push({
          name: `server peak RSS ≤ 150 MB (${memorySizeMiB} MiB download)`,
          value: s.peakRss! / MB,
          target: '≤ 150',
          pass: m.pass,
        });
      } finally {
        await cdn.stop();
        rmSync(big.path, { force: true });
      }
    }
    if (has('persist', 'persist-memory')) {
      results.persist = await runPersistParts({
        root: ROOT,
        entry,
        scratch,
        runs,
        video,
        persist: parts.has('persist'),
        memorySizeMiB: parts.has('persist-memory') ? persistMemorySizeMiB : null,
        profile: args.profile,
        targets,
      });
    }

    if (parts.has('webhooks')) {
      process.stdout.write(
        `webhooks: ${webhookMessages} messages, 16 in flight, then ${Math.min(200, webhookMessages)} with 2 in flight…\n`,
      );
      results.webhooks = {
        throughput: await benchWebhooks({ root: ROOT, messages: webhookMessages, concurrency: 16 }),
        latency: await benchWebhooks({ root: ROOT, messages: Math.min(200, webhookMessages), concurrency: 2 }),
      };
    }
    if (video && parts.has('workers')) {
      process.stdout.write(`workers: WORKERS=1 and WORKERS=2 on PostgreSQL, ${workerDownloads} downloads at once…\n`);
      results.workers = await benchWorkers({
        entry,
        media: video.bm,
        cdnPid: video.cdn.pid,
        runs,
        concurrency: workerDownloads,
      });
    }
    printReport(results);
    if (results.webhooks) {
      console.log(`\n${formatWebhookResults(results.webhooks.throughput)}`);
      console.log(
        formatWebhookResults(results.webhooks.latency).replace(/^webhooks: /, 'webhooks, 2 in flight (latency): '),
      );
    }
    if (results.workers) console.log(`\n${formatWorkerResults(results.workers, sizeMiB)}`);
  } finally {
    for (const c of cleanups) await c();
  }
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write('wrote bench/results/latest.json\n');
  if (args.strict && targets.some((t) => !t.pass)) process.exitCode = 1;
}

await main();
