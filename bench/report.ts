/** What one measurement yields, how runs are summarised, the results file and the printed table. */
import { MB, median, type ProfileRow, type SelfTime } from './measure.js';
import type { PersistResults } from './persist.js';
import type { WebhookBenchResult } from './webhooks.js';
import type { WorkersResults } from './workers.js';

export interface Sample {
  mibPerSec: number;
  /** MiB per CPU second of the serving process (or of the ceiling loop): less noise-prone than MiB/s. */
  mibPerCpuSecond?: number;
  /** VmHWM of the serving process after the transfer. */
  peakRss?: number;
  /** Largest VmRSS sampled during the transfer. */
  sampledRss?: number;
  /** VmRSS just before the transfer. */
  idleRss?: number;
  /** Peer only: download into the buffer, before writing the file. */
  downloadMiBps?: number;
  /** CPU seconds per wall second during the transfer: the serving process, the CDN, the client. */
  cpu?: { server: number; cdn: number; client?: number };
  /** The transfer, on the monotonic clock of CPU profiles. */
  window?: { from: number; to: number };
}

/** A large transfer's memory measured against a limit. */
export interface MemoryCheck {
  sizeMiB: number;
  peakRssBytes: number;
  sampledPeakRssBytes: number;
  idleRssBytes: number;
  mibPerSec: number;
  mibPerCpuSecond: number;
  limitBytes: number;
  pass: boolean;
}

export function memoryCheck(s: Sample, sizeMiB: number, limitBytes: number): MemoryCheck {
  return {
    sizeMiB,
    peakRssBytes: s.peakRss!,
    sampledPeakRssBytes: s.sampledRss!,
    idleRssBytes: s.idleRss!,
    mibPerSec: s.mibPerSec,
    mibPerCpuSecond: s.mibPerCpuSecond!,
    limitBytes,
    pass: s.peakRss! <= limitBytes,
  };
}

export function summarize(samples: Sample[]) {
  const pick = (k: keyof Sample) => samples.map((s) => s[k]).filter((v): v is number => typeof v === 'number');
  const cpu = (k: 'server' | 'cdn' | 'client') =>
    median(samples.map((s) => s.cpu?.[k]).filter((v): v is number => v !== undefined));
  const rss = pick('peakRss');
  const sampled = pick('sampledRss');
  return {
    runsMiBps: pick('mibPerSec').map((v) => Math.round(v * 10) / 10),
    medianMiBps: median(pick('mibPerSec')),
    medianMiBPerCpuSecond: median(pick('mibPerCpuSecond')),
    ...(pick('downloadMiBps').length ? { downloadOnlyMedianMiBps: median(pick('downloadMiBps')) } : {}),
    ...(rss.length ? { peakRssBytes: { median: median(rss), max: Math.max(...rss), runs: rss } } : {}),
    ...(sampled.length ? { sampledPeakRssBytes: { median: median(sampled), max: Math.max(...sampled) } } : {}),
    ...(pick('idleRss').length ? { idleRssBytes: median(pick('idleRss')) } : {}),
    ...(samples[0]?.cpu ? { cpuPerWallSecond: { server: cpu('server'), cdn: cpu('cdn'), client: cpu('client') } } : {}),
  };
}
export type Summary = ReturnType<typeof summarize>;

export interface Target {
  name: string;
  value: number;
  target: string;
  pass: boolean;
}

/** A target met when `value` reaches `min`. */
export const atLeast = (name: string, value: number, min: number): Target => ({
  name,
  value,
  target: `≥ ${min}`,
  pass: value >= min,
});

export interface Results {
  date: string;
  node: string;
  platform: string;
  cpu: { model: string; count: number };
  sizeMiB: number;
  runs: number;
  parts: string[];
  method: Record<string, string>;
  file?: { plaintextBytes: number; encryptedBytes: number };
  ceiling?: Summary;
  /** The ceiling plus the SHA-256 of the encrypted file (the fileEncSha256 check ours also does). */
  ceilingEncSha?: Summary;
  peer?: Summary;
  ours?: Summary;
  /** A plain Node relay of the CDN file without crypto: what moving the bytes costs here. */
  relay?: Summary;
  ratios: Record<string, number>;
  memoryCheck?: MemoryCheck;
  profile?: { file: string | null; mibPerSec: number; topSelfTime: SelfTime[]; breakdown?: ProfileRow[] };
  persist?: PersistResults;
  /** 16 requests in flight (throughput), then 2 (latency). */
  webhooks?: { throughput: WebhookBenchResult[]; latency: WebhookBenchResult[] };
  /** Concurrent downloads on WORKERS=1 and WORKERS=2. */
  workers?: WorkersResults;
  targets: Target[];
}

const rate = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(1));
const mb = (v: number | undefined) => (v === undefined ? 'n/a' : `${(v / MB).toFixed(1)} MB`);
const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : `${Math.round(v * 100)}%`);

const HEADER = `${'party'.padEnd(32)}${'MiB/s'.padStart(8)}  ${'runs (MiB/s)'.padEnd(24)}${'MiB/CPU-s'.padStart(10)}${'peak RSS'.padStart(10)}${'idle RSS'.padStart(11)}   CPU server/cdn/client`;

function table(rows: [string, Summary | undefined][]): string[] {
  return rows.flatMap(([name, s]) => {
    if (!s) return [];
    const c = s.cpuPerWallSecond;
    return [
      `${name.padEnd(32)}${rate(s.medianMiBps).padStart(8)}  ${s.runsMiBps.join(' / ').padEnd(24)}${rate(s.medianMiBPerCpuSecond).padStart(10)}` +
        `${mb(s.peakRssBytes?.median).padStart(10)}${mb(s.idleRssBytes).padStart(11)}   ${c ? [c.server, c.cdn, c.client].map(pct).join(' / ') : ''}`,
    ];
  });
}

function profileLines(
  title: string,
  p: { file: string | null; mibPerSec: number; topSelfTime: SelfTime[]; breakdown?: ProfileRow[] },
): string[] {
  return [
    '',
    `${title} (${rate(p.mibPerSec)} MiB/s while profiling): ${p.file ?? 'not written'}`,
    ...p.topSelfTime.map(
      (f) => `  ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.fn}`,
    ),
    ...(p.breakdown?.length ? ['', `${title}, main thread by kind of work:`] : []),
    ...(p.breakdown ?? []).map(
      (r) => `  ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.msPerMiB.toFixed(2).padStart(5)} ms/MiB  ${r.what}`,
    ),
  ];
}

function persistLines(p: PersistResults, runs: number): string[] {
  const out = [
    '',
    `persist to S3 (${p.endpoint}), ${p.sizeMiB} MiB video, part size ${p.partSizeBytes / 1024 / 1024} MiB × queue ${p.queueSize}, median of ${runs} run(s)`,
  ];
  if (p.ours) {
    out.push('', HEADER);
    out.push(
      ...table([
        ['baseline (file → lib-storage)', p.baseline],
        ['peer (Baileys buffer → Put)', p.peer],
        ['ours (HTTP persist)', p.ours],
      ]),
    );
    if (p.peer?.downloadOnlyMedianMiBps)
      out.push(`  peer without the PutObject: ${rate(p.peer.downloadOnlyMedianMiBps)} MiB/s`);
    const q = p.ratios;
    out.push(
      '',
      `ours / baseline ${q.oursOverBaseline?.toFixed(2)}   (per CPU second: ${q.oursOverBaselinePerCpuSecond?.toFixed(2)})`,
    );
    out.push(
      `ours / peer     ${q.oursOverPeer?.toFixed(2)}   (per CPU second: ${q.oursOverPeerPerCpuSecond?.toFixed(2)}${q.oursOverPeerPeakRss ? `, peak RSS ours / peer: ${q.oursOverPeerPeakRss.toFixed(2)}` : ''})`,
    );
  }
  const m = p.memoryCheck;
  if (m)
    out.push(
      `memory check    ${m.sizeMiB} MiB persist: server peak RSS ${mb(m.peakRssBytes)} (sampled ${mb(m.sampledPeakRssBytes)}, idle ${mb(m.idleRssBytes)}), ${rate(m.mibPerSec)} MiB/s, ${rate(m.mibPerCpuSecond)} MiB/CPU-s`,
    );
  if (p.profile) out.push(...profileLines('server CPU profile of the persist', p.profile));
  return out;
}

export function printReport(r: Results): void {
  const rows: [string, Summary | undefined][] = [
    ['ceiling (decrypt+HMAC+SHA-256)', r.ceiling],
    ['  + fileEncSha256 (info)', r.ceilingEncSha],
    ['peer (Baileys → file)', r.peer],
    ['ours (HTTP download)', r.ours],
    ['relay (Node, no crypto)', r.relay],
  ];
  const out: string[] = [];
  if (rows.some(([, s]) => s) || r.memoryCheck) {
    out.push(
      '',
      `media download, ${r.sizeMiB} MiB video, median of ${r.runs} run(s), node ${r.node}`,
      '',
      HEADER,
      ...table(rows),
    );
    if (r.peer?.downloadOnlyMedianMiBps)
      out.push(`  peer without the file write: ${rate(r.peer.downloadOnlyMedianMiBps)} MiB/s`);
    const q = r.ratios;
    out.push('');
    if (q.oursOverCeiling !== undefined) {
      out.push(
        `ours / ceiling  ${q.oursOverCeiling.toFixed(2)}${q.oursOverCeilingEncSha ? `   (vs ceiling + fileEncSha256: ${q.oursOverCeilingEncSha.toFixed(2)})` : ''}`,
      );
      if (q.oursOverCeilingPerCpuSecond !== undefined)
        out.push(`                per CPU second of the server: ${q.oursOverCeilingPerCpuSecond.toFixed(2)}`);
    }
    if (q.oursOverRelay !== undefined)
      out.push(
        `ours / relay   ${q.oursOverRelay.toFixed(2)}${q.relayOverCeiling !== undefined ? `   (relay / ceiling: ${q.relayOverCeiling.toFixed(2)}: relaying the bytes alone, in Node on this machine)` : ''}`,
      );
    if (q.oursOverPeer !== undefined)
      out.push(
        `ours / peer     ${q.oursOverPeer.toFixed(2)}${q.oursOverPeerPeakRss ? `   (peak RSS ours / peer: ${q.oursOverPeerPeakRss.toFixed(2)})` : ''}`,
      );
    const m = r.memoryCheck;
    if (m)
      out.push(
        `memory check    ${m.sizeMiB} MiB download: server peak RSS ${mb(m.peakRssBytes)} (sampled ${mb(m.sampledPeakRssBytes)}, idle ${mb(m.idleRssBytes)}), ${rate(m.mibPerSec)} MiB/s`,
      );
    if (r.profile) out.push(...profileLines('server CPU profile of the download', r.profile));
  }
  if (r.persist) out.push(...persistLines(r.persist, r.runs));
  out.push('');
  for (const t of r.targets)
    out.push(`${t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.value.toFixed(2)} (target ${t.target})`);
  console.log(out.join('\n'));
}
