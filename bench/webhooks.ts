/**
 * Webhook throughput: messages per second from `POST …/simulate/message` to a signed
 * `message.received` arriving at a receiver on loopback, with the latency of each message
 * (request sent → webhook received and its signature checked), on SQLite and PostgreSQL.
 * The server is the built one (dist/) in its own process; the receiver runs here.
 *
 * Standalone: `npx tsx bench/webhooks.ts [--messages 2000] [--concurrency 16] [--only sqlite,postgres]`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.js';
import { BENCH_POSTGRES_URL, tempDatabase } from './postgres.js';
import { ensureBuilt, startServer, type RunningServer } from './server.js';

export type BenchDialect = 'sqlite' | 'postgres';

export interface WebhookBenchOptions {
  /** Repository root (for dist/). */
  root: string;
  /** Messages per dialect (default 2000). */
  messages?: number;
  /** simulate/message requests in flight at once (default 16). */
  concurrency?: number;
  dialects?: BenchDialect[];
  /** A PostgreSQL server where a throwaway database may be created (default TEST_POSTGRES_URL or the local one). */
  postgresUrl?: string;
}

export interface WebhookBenchResult {
  dialect: BenchDialect;
  messages: number;
  /** Messages per second, first request sent → last webhook received. */
  messagesPerSec: number;
  /** Messages per second accepted by simulate/message alone. */
  ingestPerSec: number;
  latencyMs: { median: number; p99: number; max: number };
  /** Webhooks received more than once (0 expected: nothing fails here). */
  duplicates: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** A receiver that checks every signature and notes when each message's webhook arrived. */
async function startReceiver(key: string) {
  const arrived = new Map<string, number>();
  let duplicates = 0;
  let bad = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', key).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-webhook-signature'] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        bad++;
        return void res.writeHead(401).end();
      }
      const id = (JSON.parse(raw.toString('utf8')) as { payload: { id: string } }).payload.id;
      if (arrived.has(id)) duplicates++;
      else arrived.set(id, performance.now());
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrived,
    stats: () => ({ duplicates, bad }),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

async function post(server: RunningServer, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: server.auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path} → ${res.status}: ${text}`);
  return (JSON.parse(text) as { data: unknown }).data;
}

async function runOne(
  entry: string,
  dialect: BenchDialect,
  messages: number,
  concurrency: number,
  postgresUrl: string,
): Promise<WebhookBenchResult> {
  const hmacKey = `bench-${randomBytes(16).toString('hex')}`;
  const receiver = await startReceiver(hmacKey);
  const db = dialect === 'postgres' ? await tempDatabase(postgresUrl) : null;
  const server = await startServer({
    entry,
    maxBytes: 1024 * 1024,
    env: {
      ...(db ? { DATABASE_URL: db.url } : {}),
      RATE_LIMIT_MAX: String(messages * 10),
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    },
  });
  try {
    await post(server, '/api/sessions', { name: 'bench' });
    await post(server, '/api/webhooks', { url: receiver.url, hmacKey, events: ['message.received'] });
    const sent = new Map<string, number>();
    const ids = Array.from({ length: messages }, (_, i) => `BENCH${i}-${randomBytes(4).toString('hex')}`);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          sent.set(id, performance.now());
          await post(server, '/api/sessions/bench/simulate/message', {
            key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id },
            messageTimestamp: Math.floor(Date.now() / 1000),
            pushName: 'Bench',
            message: { conversation: `message ${id}` },
          });
        }
      }),
    );
    const ingested = performance.now();
    for (const deadline = Date.now() + 120_000; receiver.arrived.size < messages;) {
      if (Date.now() > deadline) throw new Error(`only ${receiver.arrived.size} of ${messages} webhooks arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const last = Math.max(...receiver.arrived.values());
    const latencies = ids.map((id) => receiver.arrived.get(id)! - sent.get(id)!).sort((a, b) => a - b);
    const { duplicates, bad } = receiver.stats();
    if (bad > 0) throw new Error(`${bad} webhooks had a bad signature`);
    return {
      dialect,
      messages,
      messagesPerSec: Math.round(messages / ((last - t0) / 1000)),
      ingestPerSec: Math.round(messages / ((ingested - t0) / 1000)),
      latencyMs: {
        median: Math.round(median(latencies)),
        p99: Math.round(percentile(latencies, 99)),
        max: Math.round(latencies.at(-1)!),
      },
      duplicates,
    };
  } finally {
    await server.stop();
    await receiver.close();
    await db?.drop();
  }
}

/** Runs the webhook benchmark on each dialect, one fresh server process per dialect. */
export async function benchWebhooks(opts: WebhookBenchOptions): Promise<WebhookBenchResult[]> {
  const entry = ensureBuilt(opts.root);
  const postgresUrl = opts.postgresUrl ?? BENCH_POSTGRES_URL;
  const results: WebhookBenchResult[] = [];
  for (const d of opts.dialects ?? ['sqlite', 'postgres'])
    results.push(await runOne(entry, d, opts.messages ?? 2000, opts.concurrency ?? 16, postgresUrl));
  return results;
}

/** The results as table lines. */
export function formatWebhookResults(results: WebhookBenchResult[]): string {
  const rows = results.map(
    (r) =>
      `  ${r.dialect.padEnd(9)} ${String(r.messagesPerSec).padStart(7)} msg/s end to end  ${String(r.ingestPerSec).padStart(7)} msg/s ingest  latency median ${r.latencyMs.median} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms  (${r.messages} messages, ${r.duplicates} duplicates)`,
  );
  return ['webhooks: simulate/message → signed message.received on loopback', ...rows].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '16' },
      only: { type: 'string' },
    },
  });
  const dialects = (values.only?.split(',') ?? ['sqlite', 'postgres']) as BenchDialect[];
  const results = await benchWebhooks({
    root: fileURLToPath(new URL('..', import.meta.url)),
    messages: Number(values.messages),
    concurrency: Number(values.concurrency),
    dialects,
  });
  console.log(formatWebhookResults(results));
}
