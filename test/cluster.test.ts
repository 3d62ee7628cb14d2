import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY } from './support/app.js';
import { createTestDb, type TestDb } from './support/databases.js';
import { promtool } from './support/promtool.js';
import { runServer } from './support/server-process.js';
import { databaseUrl, newTenant, startTitan, until, type TitanProcess } from './support/titan-process.js';

type LogLine = { pid: number; msg: string; [k: string]: unknown };
const logLines = (p: TitanProcess): LogLine[] =>
  p
    .stdout()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogLine);
const workerPids = (p: TitanProcess) =>
  logLines(p)
    .filter((l) => l.msg === 'titan-media worker listening')
    .map((l) => l.pid);

/** GET on a connection of its own (no keep-alive), so the cluster hands it to the next worker. */
function getOnNewConnection(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    get(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Pids of the processes that wrote the request lines of GET /admin/accounts, in order. */
const accountListers = (p: TitanProcess) =>
  logLines(p)
    .filter((l) => l.msg === 'request' && l.url === '/admin/accounts')
    .map((l) => l.pid);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const series = (scrape: string, name: string) => {
  const line = scrape.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
};

describe('WORKERS on SQLite', () => {
  it('refuses to start more than one worker, saying why and what to use', async () => {
    const p = runServer({ WORKERS: '2' });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(
      /WORKERS: 2 needs PostgreSQL \(DATABASE_URL=postgres:\/\/…\); SQLite is for one process/,
    );
  });
});

describe('WORKERS=2 on PostgreSQL', () => {
  let db: TestDb;
  let p: TitanProcess;
  const admin = { authorization: `Bearer ${MASTER_KEY}` };

  beforeAll(async () => {
    db = await createTestDb('postgres');
    p = await startTitan(db, { WORKERS: '2', SHUTDOWN_TIMEOUT_MS: '5000' });
  }, 60_000);
  afterAll(async () => {
    if (p.child.exitCode === null) {
      p.kill('SIGKILL');
      await p.exited;
    }
    await db.destroy();
  });

  it('starts two workers that share the port, each logging its pid, and says so once', () => {
    const pids = workerPids(p);
    expect(new Set(pids).size).toBe(2);
    expect(pids).not.toContain(p.child.pid);
    const starts = logLines(p).filter((l) => l.msg === 'titan-media listening');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ pid: p.child.pid, workers: expect.arrayContaining(pids) });
  });

  it('answers requests on one port from both workers, and /metrics sums what both counted', async () => {
    const pids = workerPids(p);
    let sent = 0;
    await until(
      async () => {
        const res = await getOnNewConnection(`${p.baseUrl}/admin/accounts`, admin);
        expect(res.status).toBe(200);
        sent++;
        return pids.every((pid) => accountListers(p).includes(pid)) ? true : undefined;
      },
      20_000,
      'a request answered by each worker',
    );
    expect(new Set(accountListers(p))).toEqual(new Set(pids));

    // A session, counted in the database: every worker reads 1, and the scrape says 1, not 2.
    await newTenant(p);
    const listed = 'http_requests_total{method="GET",route="/admin/accounts",status="200"}';
    // A request is counted when its response closes, which may come just after the client has it.
    await until(
      async () => (series((await getOnNewConnection(`${p.baseUrl}/metrics`)).body, listed) === sent ? true : undefined),
      10_000,
      'every request counted',
    );
    const scrapes = await Promise.all([0, 1].map(() => getOnNewConnection(`${p.baseUrl}/metrics`)));
    for (const s of scrapes) {
      expect(s.status).toBe(200);
      expect(series(s.body, listed)).toBe(sent);
      expect(series(s.body, 'titan_sessions{status="DISCONNECTED"}')).toBe(1);
      expect(series(s.body, 'titan_workers')).toBe(2);
      expect(series(s.body, 'titan_worker_restarts_total')).toBe(0);
      expect(s.body).toMatch(/^titan_build_info\{version="[^"]+",node="[^"]+"\} 1$/m);
      expect(series(s.body, 'titan_media_transfers_max')).toBe(2 * 16);
    }
    expect(await promtool(['check', 'metrics'], scrapes[0]!.body)).toEqual({ code: 0, out: '' });
  });

  it('replaces a worker that dies, and the new one takes requests', async () => {
    const [victim, survivor] = workerPids(p) as [number, number];
    process.kill(victim, 'SIGKILL');
    const replacement = await until(
      async () => workerPids(p).find((pid) => pid !== victim && pid !== survivor),
      20_000,
      'a replacement worker',
    );
    expect(logLines(p).find((l) => l.msg === 'worker exited unexpectedly; starting another')).toMatchObject({
      pid: p.child.pid,
      worker: { pid: victim, signal: 'SIGKILL' },
      restartInMs: expect.any(Number),
    });
    await until(
      async () => {
        expect((await getOnNewConnection(`${p.baseUrl}/admin/accounts`, admin)).status).toBe(200);
        return accountListers(p).includes(replacement) ? true : undefined;
      },
      20_000,
      'a request answered by the replacement',
    );
    const scrape = await getOnNewConnection(`${p.baseUrl}/metrics`);
    expect(series(scrape.body, 'titan_worker_restarts_total')).toBe(1);
    expect(series(scrape.body, 'titan_workers')).toBe(2);
  });

  it('exits 1 when a worker cannot start (the port is taken), stopping the others', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const q = runServer({ DATABASE_URL: databaseUrl(db), MASTER_KEY, WORKERS: '2', PORT: port });
      expect(await q.exited).toBe(1);
      expect(q.stderr()).toContain('EADDRINUSE');
      const stop = q
        .stdout()
        .split('\n')
        .find((l) => l.includes('a worker exited during start'));
      expect(stop).toBeDefined();
    } finally {
      taken.close();
    }
  });

  it('on SIGTERM, stops every worker gracefully and exits 0', async () => {
    const pids = workerPids(p).filter(alive);
    expect(pids).toHaveLength(2);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    const stops = logLines(p).filter((l) => l.msg === 'shutting down');
    expect(stops.map((l) => l.pid).sort()).toEqual([p.child.pid, ...pids].sort());
  });
});
