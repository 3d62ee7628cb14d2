/**
 * `npm run bench:ab -- A=path/to/dist/main.js B=other/dist/main.js [--runs 6] [--size-mib 256]`:
 * downloads the same file from builds A and B (or the same build with other flags:
 * `B=dist/main.js@--some-flag`), fresh server per download, alternating the order run by run
 * (A B, B A, …), or under a command (`C=dist/main.js#taskset,-c,1`: pinned to one core),
 * and prints each one's median MiB/s and MiB per server CPU second. CPU time is
 * the steadier figure on a shared machine; only differences beyond the runs' spread count.
 * `--profile` also writes one CPU profile per variant and prints its breakdown.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startCdn } from './children.js';
import { curlPost } from './curl.js';
import { writeEncryptedMedia } from './crypto-ceiling.js';
import { MiB, cpuMeter, median, monotonicMicros, procMemory, profileBreakdown } from './measure.js';
import { benchMedia, provision, startServer, type BenchMedia } from './server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '6' },
    'size-mib': { type: 'string', default: '256' },
    profile: { type: 'boolean', default: false },
  },
});
function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
const variants = positionals.map((p) => {
  const eq = p.indexOf('=');
  const [name, spec] = eq > 0 ? [p.slice(0, eq), p.slice(eq + 1)] : [p, undefined];
  if (!spec) throw new Error(`expected NAME=entry[@flag,flag][#wrapper,arg], got ${p}`);
  const [line, wrapper] = splitOnce(spec, '#');
  const [entry, flags] = splitOnce(line, '@');
  return {
    name,
    entry: resolve(entry),
    flags: flags ? flags.split(',') : [],
    wrapper: wrapper ? wrapper.split(',') : undefined,
  };
});
if (variants.length < 2) throw new Error('give at least two variants: A=dist-a/main.js B=dist-b/main.js');

/** Minor page faults of a process so far (Linux): fresh memory touched for the first time. */
const minorFaults = (pid: number): number =>
  Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ')[7]);

interface Run {
  faultsPerMiB: number;
  mibPerSec: number;
  mibPerCpuSecond: number;
  peakRss: number;
}

async function once(v: (typeof variants)[number], media: BenchMedia, cdnPid: number, extra: string[] = []) {
  const server = await startServer({
    entry: v.entry,
    maxBytes: 4 * 1024 * MiB,
    nodeArgs: [...v.flags, ...extra],
    ...(v.wrapper ? { wrapper: v.wrapper } : {}),
  });
  try {
    const url = await provision(server, media);
    const warm = await request(url, {
      method: 'POST',
      headers: { authorization: server.auth, range: 'bytes=0-65535' },
    });
    await warm.body.arrayBuffer();
    const faults = minorFaults(server.pid);
    const meter = cpuMeter([server.pid, cdnPid]);
    const from = monotonicMicros();
    const started = performance.now();
    const res = await curlPost(url, { authorization: server.auth });
    const seconds = (performance.now() - started) / 1000;
    const to = monotonicMicros();
    const cpu = meter();
    if (res.status !== 200 || res.bytes !== media.fileLength) throw new Error(`${v.name}: ${res.status} ${res.bytes}`);
    const mib = media.fileLength / MiB;
    const run: Run = {
      faultsPerMiB: (minorFaults(server.pid) - faults) / mib,
      mibPerSec: mib / seconds,
      mibPerCpuSecond: mib / cpu.used[0]!,
      peakRss: procMemory(server.pid, 'VmHWM'),
    };
    return { run, window: { from, to } };
  } finally {
    await server.stop();
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'titan-ab-'));
try {
  const sizeMiB = Number(args['size-mib']);
  const file = await writeEncryptedMedia(join(scratch, 'video.enc'), sizeMiB * MiB);
  const cdn = await startCdn(ROOT, file.path);
  try {
    const media = benchMedia(file, cdn.origin);
    const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
    for (let r = 0; r < Number(args.runs); r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      const line: string[] = [];
      for (const v of order) {
        const { run } = await once(v, media, cdn.pid);
        runs.get(v.name)!.push(run);
        line.push(`${v.name} ${run.mibPerSec.toFixed(0)} MiB/s ${run.mibPerCpuSecond.toFixed(1)} MiB/CPU-s`);
      }
      console.log(`run ${r + 1}: ${line.join(' | ')}`);
    }
    for (const v of variants) {
      const rs = runs.get(v.name)!;
      const cpu = rs.map((x) => x.mibPerCpuSecond).sort((a, b) => a - b);
      console.log(
        `${v.name.padEnd(12)} median ${median(rs.map((x) => x.mibPerSec)).toFixed(1)} MiB/s, ` +
          `${median(cpu).toFixed(1)} MiB/CPU-s (${cpu[0]!.toFixed(1)}–${cpu.at(-1)!.toFixed(1)}), ` +
          `${(1000 / median(cpu)).toFixed(2)} CPU-ms/MiB, peak RSS ${(median(rs.map((x) => x.peakRss)) / 1e6).toFixed(0)} MB, ` +
          `${median(rs.map((x) => x.faultsPerMiB)).toFixed(0)} page faults/MiB`,
      );
    }
    if (args.profile) {
      for (const v of variants) {
        const dir = join(tmpdir(), `titan-ab-profile-${v.name}-${Date.now()}`);
        mkdirSync(dir);
        const { run, window } = await once(v, media, cdn.pid, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
        const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'))!;
        console.log(`\n${v.name} profile (${run.mibPerSec.toFixed(0)} MiB/s): ${join(dir, f)}`);
        for (const row of profileBreakdown(join(dir, f), window, sizeMiB))
          console.log(`  ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.msPerMiB.toFixed(2)} ms/MiB  ${row.what}`);
      }
    }
  } finally {
    await cdn.stop();
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
