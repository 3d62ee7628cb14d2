/**
 * The workers party of `npm run bench`: the built server on PostgreSQL with WORKERS=1, then
 * WORKERS=2, each taking `concurrency` downloads of the bench video at once (curl to /dev/null,
 * one connection each, so the cluster hands them to its workers in turn). Reports the aggregate
 * plaintext MiB/s (all bytes / wall time from the first request to the last byte), the CPU of
 * the server's processes, each worker's peak RSS, and the ratio 2 workers / 1 worker.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { curlPost } from './curl.js';
import { MB, MiB, median, procCpuSeconds, procMemory } from './measure.js';
import { BENCH_POSTGRES_URL, tempDatabase } from './postgres.js';
import { provision, startServer, type BenchMedia, type RunningServer } from './server.js';

export interface WorkersSample {
  workers: number;
  mibPerSec: number;
  seconds: number;
  /** CPU seconds per wall second of the primary and its workers together, and of the CDN. */
  cpu: { server: number; cdn: number };
  /** VmHWM of each serving process (the workers; with WORKERS=1 the one process). */
  peakRssBytes: number[];
}

export interface WorkersResults {
  concurrency: number;
  /** The machine's 1-minute load average when the party began: other work on its cores. */
  loadAverageAtStart: number;
  runs: { one: WorkersSample[]; two: WorkersSample[] };
  medianMiBps: { one: number; two: number };
  twoOverOne: number;
}

/** The pids serving HTTP: the workers of a primary, else the process itself (Linux). */
function servingPids(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? children.split(' ').map(Number) : [pid];
}

/** Waits until every worker listens (the server answers /healthz as soon as the first does). */
async function allListening(server: RunningServer, workers: number): Promise<void> {
  if (workers === 1) return;
  for (const deadline = Date.now() + 30_000; ;) {
    const text = await fetch(`${server.baseUrl}/metrics`).then((r) => r.text());
    if (new RegExp(`^titan_workers ${workers}$`, 'm').test(text)) return;
    if (Date.now() > deadline) throw new Error(`not all ${workers} workers listen`);
    await sleep(100);
  }
}

async function measure(o: {
  entry: string;
  media: BenchMedia;
  cdnPid: number;
  workers: number;
  concurrency: number;
  postgresUrl: string;
}): Promise<WorkersSample> {
  const db = await tempDatabase(o.postgresUrl);
  const server = await startServer({
    entry: o.entry,
    maxBytes: 4 * 1024 * MiB,
    env: { DATABASE_URL: db.url, WORKERS: String(o.workers) },
  });
  try {
    await allListening(server, o.workers);
    const url = await provision(server, o.media);
    const auth = { authorization: server.auth };
    // One 64 KiB range per connection the downloads will use: every worker is warmed up.
    for (let i = 0; i < o.concurrency; i++) {
      const warm = await curlPost(url, { ...auth, range: 'bytes=0-65535' });
      if (warm.status !== 206) throw new Error(`warm-up download → ${warm.status}`);
    }
    const pids = [server.pid, ...servingPids(server.pid).filter((p) => p !== server.pid)];
    const cpuBefore = [...pids, o.cdnPid].map(procCpuSeconds);
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: o.concurrency }, () => curlPost(url, auth)));
    const seconds = (performance.now() - started) / 1000;
    const cpuUsed = [...pids, o.cdnPid].map((p, i) => procCpuSeconds(p) - cpuBefore[i]!);
    for (const r of results)
      if (r.status !== 200 || r.bytes !== o.media.fileLength)
        throw new Error(`download → ${r.status}, ${r.bytes} bytes, not ${o.media.fileLength}`);
    const serverCpu = cpuUsed.slice(0, -1).reduce((a, b) => a + b, 0);
    return {
      workers: o.workers,
      mibPerSec: (o.concurrency * o.media.fileLength) / MiB / seconds,
      seconds,
      cpu: { server: serverCpu / seconds, cdn: cpuUsed.at(-1)! / seconds },
      peakRssBytes: servingPids(server.pid).map((p) => procMemory(p, 'VmHWM')),
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}

export async function benchWorkers(o: {
  entry: string;
  media: BenchMedia;
  cdnPid: number;
  runs: number;
  concurrency?: number;
  postgresUrl?: string;
}): Promise<WorkersResults> {
  const concurrency = o.concurrency ?? 4;
  const loadAverageAtStart = loadavg()[0]!;
  const common = { ...o, concurrency, postgresUrl: o.postgresUrl ?? BENCH_POSTGRES_URL };
  const runs = { one: [] as WorkersSample[], two: [] as WorkersSample[] };
  for (let run = 1; run <= o.runs; run++) {
    runs.one.push(await measure({ ...common, workers: 1 }));
    runs.two.push(await measure({ ...common, workers: 2 }));
    process.stdout.write(
      `workers run ${run}/${o.runs}: 1 worker ${runs.one.at(-1)!.mibPerSec.toFixed(1)}, 2 workers ${runs.two.at(-1)!.mibPerSec.toFixed(1)} MiB/s (${concurrency} downloads at once)\n`,
    );
  }
  const medianMiBps = {
    one: median(runs.one.map((s) => s.mibPerSec)),
    two: median(runs.two.map((s) => s.mibPerSec)),
  };
  return { concurrency, loadAverageAtStart, runs, medianMiBps, twoOverOne: medianMiBps.two / medianMiBps.one };
}

export function formatWorkerResults(r: WorkersResults, sizeMiB: number): string {
  const line = (name: string, samples: WorkersSample[], med: number) => {
    const last = samples.at(-1)!;
    const rss = last.peakRssBytes.map((b) => `${(b / MB).toFixed(0)}`).join(' + ');
    return `${name.padEnd(12)}${med.toFixed(1).padStart(8)} MiB/s   runs ${samples.map((s) => s.mibPerSec.toFixed(1)).join(', ')}   CPU server/cdn ${last.cpu.server.toFixed(2)}/${last.cpu.cdn.toFixed(2)}   peak RSS ${rss} MB`;
  };
  return [
    `workers: ${r.concurrency} downloads of the ${sizeMiB} MiB video at once, PostgreSQL, aggregate plaintext MiB/s (${cpus().length} cores, load average ${r.loadAverageAtStart.toFixed(2)} at start)`,
    line('1 worker', r.runs.one, r.medianMiBps.one),
    line('2 workers', r.runs.two, r.medianMiBps.two),
    `2 workers / 1 worker  ${r.twoOverOne.toFixed(2)}`,
  ].join('\n');
}
