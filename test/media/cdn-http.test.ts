import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../../src/media/cdn-allowlist.js';
import { type CdnClientOptions, createCdnClient } from '../../src/media/cdn-client.js';
import { READ_SIZE } from '../../src/media/cdn-http.js';

const MiB = 1024 * 1024;
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

async function listen<S extends Server>(server: S): Promise<{ server: S; origin: string; connections: Socket[] }> {
  const connections: Socket[] = [];
  server.on('connection', (s: Socket) => {
    connections.push(s);
    sockets.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { server, origin: `127.0.0.1:${(server.address() as AddressInfo).port}`, connections };
}

/** An HTTP server answering every GET with `body`. */
const httpServer = (body: Buffer, handle?: (req: IncomingMessage, res: ServerResponse) => boolean) =>
  listen(
    createHttpServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      if (handle?.(req, res)) return;
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    }),
  );

/** A TCP server that answers each connection's first request with exactly `wire`, in the pieces given. */
const rawServer = (pieces: (Buffer | string)[], opts: { close?: boolean } = {}) =>
  listen(
    createNetServer((socket) => {
      // One piece per turn of the event loop, so the client sees them arrive apart.
      const send = (i: number): void => {
        if (i === pieces.length) {
          if (opts.close) socket.end();
          return;
        }
        socket.write(pieces[i]!);
        setImmediate(() => send(i + 1));
      };
      socket.once('data', () => send(0));
      socket.on('error', () => undefined);
    }),
  );

function client(origin: string, opts: Partial<CdnClientOptions> = {}) {
  const scheme = opts.tls ? 'https' : 'http';
  return createCdnClient({
    baseUrl: `${scheme}://${origin}`,
    allowlist: parseAllowlist(`${scheme}://127.0.0.1:*,${scheme}://localhost:*`),
    maxRetries: 2,
    retryBaseDelayMs: 1,
    ...opts,
  });
}

const bytes = (n: number, seed = 1) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

describe('the CDN HTTP client: connections', () => {
  it('keeps the connection alive: three files, one after another, over one socket', async () => {
    const file = bytes(300_000);
    const { origin, connections } = await httpServer(file);
    const c = client(origin);
    for (let i = 0; i < 3; i++)
      expect((await readAll((await c.open({ directPath: '/f' })).stream)).equals(file)).toBe(true);
    expect(connections).toHaveLength(1);
    await c.close();
  });

  it('a small error body is read to its end so the connection is reused for the retry', async () => {
    const file = bytes(1000);
    let n = 0;
    const { origin, connections } = await httpServer(file, (_req, res) => {
      if (n++ > 0) return false;
      res.writeHead(503, { 'content-length': '12' }).end('try it again');
      return true;
    });
    const c = client(origin);
    expect((await readAll((await c.open({ directPath: '/f' })).stream)).equals(file)).toBe(true);
    expect(n).toBe(2);
    expect(connections).toHaveLength(1);
    await c.close();
  });

  it('an idle connection the server closed is replaced without a retry being spent', async () => {
    const file = bytes(5000);
    const { origin, connections } = await httpServer(file);
    const retries: string[] = [];
    const c = client(origin, { maxRetries: 0, onRetry: (k) => retries.push(k) });
    expect((await readAll((await c.open({ directPath: '/f' })).stream)).equals(file)).toBe(true);
    // The server drops the kept-alive socket; the client has not noticed yet when it reuses it.
    connections[0]!.destroy();
    expect((await readAll((await c.open({ directPath: '/f' })).stream)).equals(file)).toBe(true);
    expect(connections).toHaveLength(2);
    expect(retries).toEqual([]);
    await c.close();
  });

  it('close() ends idle connections, and the busy one once its body is done', async () => {
    const file = bytes(4 * MiB);
    const { origin, connections } = await httpServer(file);
    const c = client(origin);
    await readAll((await c.open({ directPath: '/f' })).stream);
    const busy = await c.open({ directPath: '/f' });
    let closed = false;
    const closing = c.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    expect((await readAll(busy.stream)).equals(file)).toBe(true);
    await closing;
    const ended = connections.map((s) => new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r()))));
    await Promise.all(ended);
    await expect(c.open({ directPath: '/f' })).rejects.toMatchObject({ code: 'CDN_UNAVAILABLE' });
  });
});

describe('the CDN HTTP client: what the server sends', () => {
  it('a head split byte by byte, after a 100 Continue, and a chunked body in odd pieces', async () => {
    const head = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: "x"\r\n\r\n';
    const { origin } = await rawServer(
      [...head.split(''), '5\r\nhel', 'lo\r', '\n6;ext=1\r\n wor', 'ld\r\n0\r\n', 'Trailer: t\r\n\r\n'],
      { close: false },
    );
    const c = client(origin);
    const body = await c.open({ directPath: '/f' });
    expect(body.size).toBeNull();
    expect((await readAll(body.stream)).toString()).toBe('hello world');
    await c.close();
  });

  it('a body without length or chunking ends at the close', async () => {
    const { origin } = await rawServer(['HTTP/1.1 200 OK\r\n\r\n', 'all of ', 'it'], { close: true });
    const c = client(origin);
    expect((await readAll((await c.open({ directPath: '/f' })).stream)).toString()).toBe('all of it');
    await c.close();
  });

  it.each([
    ['a malformed status line', ['HTTP/9 OK\r\n\r\n']],
    ['a malformed chunk size', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n']],
    ['an oversized head', ['HTTP/1.1 200 OK\r\n', `x-pad: ${'a'.repeat(70_000)}\r\n`]],
    ['conflicting lengths', ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd']],
  ])('%s → CDN_UNAVAILABLE, not retried', async (_what, pieces) => {
    const { origin, connections } = await rawServer(pieces);
    const c = client(origin);
    const err = await c
      .open({ directPath: '/f' })
      .then((b) => readAll(b.stream))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CDN_UNAVAILABLE', cause: { code: 'CDN_BAD_RESPONSE' } });
    expect(connections).toHaveLength(1);
    await c.close();
  });

  it('a connection that does not answer in time → a headers timeout, retried', async () => {
    const { origin, connections } = await listen(createNetServer((s) => s.on('error', () => undefined)));
    const c = client(origin, { headersTimeoutMs: 100, maxRetries: 1 });
    const err = await c.open({ directPath: '/f' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CDN_UNAVAILABLE', cause: { code: 'CDN_HEADERS_TIMEOUT' } });
    expect(connections).toHaveLength(2);
    await c.close();
  });
});

describe('the CDN HTTP client: reading', () => {
  it('reads large pieces, and lets the event loop turn every few MiB', async () => {
    const file = bytes(48 * MiB);
    const { origin } = await httpServer(file);
    const c = client(origin);
    const body = await c.open({ directPath: '/f' });
    let received = 0;
    let largest = 0;
    // Bytes delivered between one turn of the event loop and the next, over the whole transfer.
    let sinceTurn = 0;
    let worstTurn = 0;
    let turns = 0;
    const turn = (): void => {
      worstTurn = Math.max(worstTurn, sinceTurn);
      sinceTurn = 0;
      turns++;
      if (received < file.length) setImmediate(turn);
    };
    setImmediate(turn);
    const hash = (await import('node:crypto')).createHash('sha256');
    for await (const chunk of body.stream) {
      const b = chunk as Buffer;
      received += b.length;
      sinceTurn += b.length;
      largest = Math.max(largest, b.length);
      hash.update(b);
    }
    expect(hash.digest('hex')).toBe((await import('node:crypto')).createHash('sha256').update(file).digest('hex'));
    // Loopback delivers far more than Node's 64 KiB per read when asked.
    expect(largest).toBeGreaterThan(64 * 1024);
    expect(largest).toBeLessThanOrEqual(READ_SIZE);
    expect(turns).toBeGreaterThan(1);
    // 2 MiB per turn, plus the read that crossed the mark.
    expect(worstTurn).toBeLessThanOrEqual(2 * MiB + READ_SIZE);
    await c.close();
  });
});

describe('the CDN HTTP client: TLS', () => {
  let dir: string;
  let key: Buffer;
  let cert: Buffer;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'titan-cdn-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    );
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const httpsServer = (body: Buffer) =>
    listen(
      createHttpsServer({ key, cert }, (_req, res) =>
        res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      ),
    );

  it('fetches over TLS, checking the certificate against the given CA and the host name', async () => {
    const file = bytes(3 * MiB + 5);
    const { server } = await httpsServer(file);
    const port = (server.address() as AddressInfo).port;
    const c = client(`localhost:${port}`, { tls: { ca: cert } });
    expect((await readAll((await c.open({ directPath: '/f' })).stream)).equals(file)).toBe(true);
    await c.close();
  });

  it('a certificate nobody vouches for is refused, not retried', async () => {
    const { server, connections } = await httpsServer(bytes(10));
    const port = (server.address() as AddressInfo).port;
    const c = client(`localhost:${port}`, { tls: { ca: [] } });
    const err = await c.open({ directPath: '/f' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CDN_UNAVAILABLE', cause: { code: expect.stringMatching(/CERT|VERIFY/) } });
    expect(connections).toHaveLength(1);
    await c.close();
  });
});
