/** Measurement helpers: process memory from /proc, RSS sampling, medians, CPU profiles. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import ts from 'typescript';

export const MiB = 1024 * 1024;
export const MB = 1_000_000;

/** `VmRSS` (current) or `VmHWM` (peak over the process lifetime) of a process, in bytes (Linux). */
export function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`No ${field} in /proc/${pid}/status.`);
  return Number(m[1]) * 1024;
}

/** Samples `VmRSS` of `pid` every `intervalMs`; `stop()` returns the largest value seen. */
export function sampleRss(pid: number, intervalMs = 20): { stop(): number } {
  let max = 0;
  const tick = (): void => {
    try {
      max = Math.max(max, procMemory(pid, 'VmRSS'));
    } catch {
      // The process is gone; keep what was seen.
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return max;
    },
  };
}

/** CPU time (user + system) a process has used so far, in seconds (Linux, 100 ticks/s). */
export function procCpuSeconds(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** CPU seconds used by some processes (and this one) from now until the returned function is called. */
export function cpuMeter(pids: number[]) {
  const t0 = performance.now();
  const before = pids.map(procCpuSeconds);
  const self = process.cpuUsage();
  return () => {
    const mine = process.cpuUsage(self);
    return {
      wall: (performance.now() - t0) / 1000,
      used: pids.map((pid, i) => procCpuSeconds(pid) - before[i]!),
      self: (mine.user + mine.system) / 1e6,
    };
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A TCP port that was free a moment ago on `host`. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, host, resolve));
  const addr = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  if (addr === null || typeof addr === 'string') throw new Error('Could not get a free port.');
  return addr.port;
}

/**
 * Transpiles a bench child script (no imports from the repo's TypeScript) to plain ESM under
 * node_modules/.cache, so it runs on bare `node`: a TypeScript loader would add tens of MB to
 * the RSS being measured. Package imports still resolve from the repo's node_modules.
 */
export function toPlainNode(root: string, tsFile: string): string {
  const out = ts.transpileModule(readFileSync(tsFile, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true },
    fileName: tsFile,
  });
  const dir = join(root, 'node_modules/.cache/titan-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, basename(tsFile).replace(/\.ts$/, '.mjs'));
  writeFileSync(file, out.outputText);
  return file;
}

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
};
type CpuProfile = { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] };

export interface SelfTime {
  fn: string;
  ms: number;
  share: number;
}

/** Now on the monotonic clock V8 profiles use (microseconds), comparable across processes. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * The functions with the most self time in a V8 `.cpuprofile` (as written by `--cpu-prof`),
 * counting only samples within `window` (microseconds, see {@link monotonicMicros}) when given.
 */
export function topSelfTime(profileFile: string, window?: { from: number; to: number }, top = 15): SelfTime[] {
  const p = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window.from || at > window.to)) return;
    const f = byId.get(id)?.callFrame;
    if (!f) return;
    const where = f.url ? ` ${f.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    totals.set(key, (totals.get(key) ?? 0) + dt);
    all += dt;
  });
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, us]) => ({ fn, ms: us / 1000, share: all > 0 ? us / all : 0 }));
}

/** Where the main thread's time goes, by kind of work: what the download's plumbing costs next to its crypto. */
const CATEGORIES: [string, (f: ProfileNode['callFrame']) => boolean][] = [
  ['idle (waiting; socket reads happen here too)', (f) => f.functionName === '(idle)'],
  ['crypto (AES, HMAC, SHA-256)', (f) => /internal\/crypto\/(hash|cipher)/.test(f.url)],
  ['socket writes to the client', (f) => ['writeBuffer', 'writev', 'writeUtf8String'].includes(f.functionName)],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  ['undici (CDN response parsing)', (f) => f.url.includes('undici')],
  ['node streams', (f) => /node:internal\/streams|node:stream/.test(f.url)],
  ['node net / http', (f) => /node:net|stream_base_commons|node:_http|node:http/.test(f.url)],
  ['ticks, timers, events', (f) => /task_queues|timers|node:events|async_hooks/.test(f.url)],
  ['our code', (f) => f.url.includes('/dist/')],
  ['other dependencies', (f) => f.url.includes('node_modules')],
];

export interface ProfileRow {
  what: string;
  share: number;
  msPerMiB: number;
}

/** Self time of a `.cpuprofile` within `window`, by {@link CATEGORIES}, in ms per MiB of `mib` moved. */
export function profileBreakdown(profileFile: string, window: { from: number; to: number }, mib: number): ProfileRow[] {
  const p = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    at += dt;
    if (at < window.from || at > window.to) return;
    const f = byId.get(id)?.callFrame;
    if (!f) return;
    const what = CATEGORIES.find(([, test]) => test(f))?.[0] ?? 'other (native and Node internals)';
    totals.set(what, (totals.get(what) ?? 0) + dt);
    all += dt;
  });
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([what, us]) => ({ what, share: all > 0 ? us / all : 0, msPerMiB: us / 1000 / mib }));
}
