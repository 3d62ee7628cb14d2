/**
 * A real HTTP server standing in for the WhatsApp media CDN, with switchable misbehaviour:
 * error statuses, cut connections, slow or stalled bodies, tampered bytes, ignored Range.
 */
import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A stored file, or a synthetic one generated on demand (large files without the memory). */
export type FakeFile = Buffer | { size: number; generate(offset: number, length: number): Buffer };

export interface Misbehaviour {
  /** How many requests it applies to (default: all). `failTimes` is an alias. */
  times?: number;
  failTimes?: number;
  /** Answer this status instead of the file. */
  status?: number;
  /** `Retry-After` sent with `status`. */
  retryAfter?: number | string;
  /** Extra headers sent with `status` (e.g. `location`). */
  headers?: Record<string, string>;
  /** Destroy the socket after this many body bytes of the response (a value in (0,1) = fraction of it). */
  cutAt?: number;
  /** Throttle the body. */
  slowBytesPerSec?: number;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Flip the byte at this absolute file offset. */
  tamperAt?: number;
  /** Answer 200 with the whole file even to a Range request. */
  ignoreRange?: boolean;
  /** Send the body chunked, without Content-Length. */
  noLength?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  range: string | undefined;
  headers: IncomingHttpHeaders;
  time: number;
}

export interface FakeCdn {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Sockets currently open. */
  readonly openConnections: number;
  /** Body bytes handed to sockets so far. */
  readonly bytesSent: number;
  put(path: string, file: FakeFile): void;
  misbehave(path: string, m: Misbehaviour): void;
  close(): Promise<void>;
}

const PATTERN_LENGTH = 65_521; // prime, so offsets that are off by a power of two never line up

/** A deterministic synthetic file of `size` bytes. */
export function syntheticFile(size: number, seed = 1): FakeFile {
  const pattern = createHash('sha256').update(String(seed)).digest();
  // Two periods back to back, so any window of up to one period is a single copy.
  const block = Buffer.alloc(PATTERN_LENGTH * 2);
  for (let i = 0; i < PATTERN_LENGTH; i++) block[i] = pattern[i % 32]! ^ ((i * 7) & 0xff) ^ (i >> 9);
  block.copy(block, PATTERN_LENGTH, 0, PATTERN_LENGTH);
  return {
    size,
    generate(offset, length) {
      const out = Buffer.allocUnsafe(length);
      for (let done = 0; done < length;) {
        const at = (offset + done) % PATTERN_LENGTH;
        done += block.copy(out, done, at, at + Math.min(length - done, PATTERN_LENGTH));
      }
      return out;
    },
  };
}

/** The bytes `start..end` (inclusive) of a file. */
export function fileBytes(file: FakeFile, start = 0, end?: number): Buffer {
  const last = end ?? (Buffer.isBuffer(file) ? file.length : file.size) - 1;
  return Buffer.isBuffer(file) ? file.subarray(start, last + 1) : file.generate(start, last - start + 1);
}

/** Starts a fake CDN on an ephemeral port of `host` (default 127.0.0.1). */
export async function startFakeCdn(opts: { host?: string } = {}): Promise<FakeCdn> {
  const files = new Map<string, { file: FakeFile; etag: string }>();
  const faults = new Map<string, { m: Misbehaviour; left: number }>();
  const requests: RecordedRequest[] = [];
  let openConnections = 0;
  let bytesSent = 0;
  let version = 0;

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? '', path, range: req.headers.range, headers: req.headers, time: Date.now() });
    const fault = faults.get(path);
    const m = fault && fault.left > 0 ? (fault.left--, fault.m) : {};
    serve(path, req.headers.range, m, res).catch(() => res.destroy());
  });
  server.on('connection', (socket) => {
    openConnections++;
    socket.on('close', () => openConnections--);
  });

  async function serve(path: string, range: string | undefined, m: Misbehaviour, res: ServerResponse): Promise<void> {
    if (m.delayMs) await sleep(m.delayMs);
    if (m.status !== undefined) {
      const extra = m.retryAfter === undefined ? {} : { 'retry-after': String(m.retryAfter) };
      res.writeHead(m.status, { ...extra, ...m.headers, 'content-type': 'text/plain' }).end(`fake status ${m.status}`);
      return;
    }
    const entry = files.get(path);
    if (!entry) return void res.writeHead(404).end('not found');
    const size = Buffer.isBuffer(entry.file) ? entry.file.length : entry.file.size;
    let [start, end, status] = [0, size - 1, 200];
    const r = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    if (r && !m.ignoreRange) {
      [start, end, status] = [Number(r[1]), r[2] ? Math.min(Number(r[2]), size - 1) : size - 1, 206];
      if (start >= size || end < start) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    }
    const length = end - start + 1;
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: entry.etag,
      ...(m.noLength ? {} : { 'content-length': String(length) }),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    const cutAt =
      m.cutAt === undefined ? Infinity : m.cutAt > 0 && m.cutAt < 1 ? Math.floor(length * m.cutAt) : m.cutAt;
    const chunkSize = m.slowBytesPerSec ? Math.max(1, Math.floor(m.slowBytesPerSec / 20)) : 64 * 1024;
    let gone = false;
    res.on('close', () => (gone = true));
    for (let sent = 0; sent < length && !gone;) {
      const n = Math.min(chunkSize, length - sent, cutAt - sent);
      const chunk = fileBytes(entry.file, start + sent, start + sent + n - 1);
      const t = m.tamperAt === undefined ? -1 : m.tamperAt - start - sent;
      if (t >= 0 && t < n) chunk[t] = chunk[t]! ^ 0xff;
      sent += n;
      bytesSent += n;
      if (sent === cutAt) {
        // Let the bytes reach the kernel before cutting, so the client sees exactly `cutAt`.
        await new Promise<void>((resolve) => {
          res.write(chunk, () => resolve());
          res.on('close', resolve);
        });
        res.socket?.destroy();
        return;
      }
      if (!res.write(chunk)) await writable(res);
      if (m.slowBytesPerSec) await sleep((n / m.slowBytesPerSec) * 1000);
    }
    if (cutAt === 0) res.socket?.destroy();
    else if (!gone) res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, opts.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;

  return {
    origin: `http://${address}:${port}`,
    requests,
    get openConnections() {
      return openConnections;
    },
    get bytesSent() {
      return bytesSent;
    },
    put(path, file) {
      files.set(path, { file, etag: `"v${++version}"` });
    },
    misbehave(path, m) {
      faults.set(path, { m, left: m.failTimes ?? m.times ?? Infinity });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** Resolves on 'drain' or when the response is gone. */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}
