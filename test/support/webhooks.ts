import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Store } from '../../src/store/db.js';
import { LOCAL_ADDRESSES, MASTER_KEY, SECRET_KEY } from './app.js';
import { checkLogLine } from './log-lines.js';

/** Settings that make delivery fast and let tests use loopback receivers. */
export const FAST_WEBHOOKS: Record<string, string> = {
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_MIN_RETRY_DELAY_MS: '0',
  WEBHOOK_TIMEOUT_MS: '2000',
  OUTBOX_POLL_INTERVAL_MS: '50',
  OUTBOX_LEASE_MS: '5000',
};

export interface Received {
  /** Path and query the request was sent to. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as it arrived. */
  raw: Buffer;
  body: { id: string; event: string; session: string | null; timestamp: string; payload: Record<string, unknown> };
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides each answer's status (default 200); runs after the request was recorded. */
  respond: (r: Received, n: number) => number;
  /** Bodies of one event type. */
  events(event: string): Received['body'][];
  /** Resolves once `predicate(received)` holds, else fails after `timeoutMs` with what arrived. */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening (connections are refused) until `up()` listens on the same port again. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A local webhook receiver on 127.0.0.1 that records every request. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const self: Receiver = {
    url: '',
    received,
    respond: () => 200,
    events: (event) => received.filter((r) => r.body.event === event).map((r) => r.body),
    async waitFor(predicate, timeoutMs = 10_000) {
      const start = Date.now();
      while (!predicate(received)) {
        if (Date.now() - start > timeoutMs) {
          throw new Error(
            `receiver: timed out; got ${received.length} requests: ${received.map((r) => r.body.event).join(', ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    down: () => close(server),
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () => close(server),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const r: Received = {
        path: req.url ?? '/',
        headers: req.headers,
        raw,
        body: JSON.parse(raw.toString('utf8')) as Received['body'],
        at: Date.now(),
      };
      received.push(r);
      res.writeHead(self.respond(r, received.length)).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  self.url = `http://127.0.0.1:${port}/hook`;
  return self;
}

function close(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

/** The HMAC-SHA256 of `body` under `key`, computed by openssl (an implementation not ours). */
export function opensslHmac(key: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['dgst', '-sha256', '-hmac', key], (err, stdout) => {
      if (err) return reject(new Error(`openssl failed: ${err.message}`, { cause: err }));
      // "SHA2-256(stdin)= <hex>" or "(stdin)= <hex>", depending on the version.
      resolve(/=\s*([0-9a-f]{64})\s*$/.exec(stdout)![1]!);
    });
    child.stdin!.end(body);
  });
}

/**
 * Another app instance on an existing store (as a second server process would be), with the
 * test configuration plus `env`. Closing it closes that store.
 */
export async function buildAppOn(store: Store, env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    MASTER_KEY,
    SECRET_KEY,
    ...LOCAL_ADDRESSES,
    ...env,
  });
  const sink = new Writable({
    write: (c: Buffer, _e, cb) => {
      for (const l of c.toString().split('\n').filter(Boolean)) checkLogLine(l);
      cb();
    },
  });
  const app = await buildApp({
    config,
    store,
    logger: createLogger(config.logLevel, { pretty: false, destination: sink }),
  });
  await app.ready();
  return app;
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Deliveries still to be attempted (pending or held). Zero is the positive signal that every
 * event written so far was sent or given up, so "nothing else arrived" can be checked then.
 */
export async function unsettledDeliveries(db: Store['db']): Promise<number> {
  const r = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', 'in', ['pending', 'held'])
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
