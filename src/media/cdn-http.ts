/**
 * The HTTP/1.1 client of direct CDN transfers: one GET at a time per connection, connections
 * kept alive in a small pool per origin. Every connection reads into one buffer the process
 * shares (`onread`): up to 1 MiB per read instead of Node's 64 KiB, and no buffer allocated per
 * read. A chunk handed to a body's 'data' listener is therefore only valid during that call.
 * Why not undici on this path: docs/decisions.md ("The CDN's own HTTP client"), with figures.
 * Transfers through a session's proxy still use undici (cdn-proxy.ts).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { type Framing, BodyFramer, parseResponseHead } from './http1-parse.js';

/** Size of the shared read buffer: the largest read a connection makes. */
export const READ_SIZE = 1024 * 1024;
// Created on first use; only ever touched synchronously, between a read and its callback.
let shared: Buffer | null = null;
const readBuffer = (): Buffer => (shared ??= Buffer.allocUnsafe(READ_SIZE));

// Bytes one connection reads before it lets the event loop turn: libuv reads a ready socket up
// to 32 times in a row, which with 1 MiB reads would keep other transfers (and the timers and
// immediates, the scavenge pacer's among them) waiting behind 32 MiB of one transfer.
const TURN_BYTES = 2 * 1024 * 1024;
// Response heads larger than this are refused (the CDN's are well under 1 KiB).
const MAX_HEAD = 64 * 1024;
// Idle connections kept per origin, and how long one stays idle before it is closed.
const MAX_IDLE_PER_ORIGIN = 16;
const KEEP_ALIVE_MS = 10_000;

/** A failure of the connection or the response, with a `code` cdn-request.ts classifies. */
export class CdnHttpError extends Error {
  constructor(
    message: string,
    readonly code:
      'CDN_CONNECT_TIMEOUT' | 'CDN_HEADERS_TIMEOUT' | 'CDN_BODY_TIMEOUT' | 'CDN_SOCKET_CLOSED' | 'CDN_BAD_RESPONSE',
  ) {
    super(message);
    this.name = 'CdnHttpError';
  }
}

export interface HttpRequestOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
}

export interface HttpResponse {
  statusCode: number;
  /** Lower-cased names; a repeated header is an array. */
  headers: Record<string, string | string[]>;
  body: HttpBody;
}

/**
 * A response body: 'data' (a chunk valid only during the call), then 'end' or 'error'. Starts
 * flowing once a 'data' listener is added; `pause()` stops reading the socket (the rest of the
 * current read is still delivered).
 */
export class HttpBody extends EventEmitter {
  /** Body bytes that arrived with the head, delivered first (owned, not borrowed). */
  #early: Buffer | null;
  #paused = false;
  #scheduled = false;
  #done = false;
  readonly #conn: Connection;

  constructor(conn: Connection, early: Buffer | null) {
    super();
    this.#conn = conn;
    this.#early = early;
    this.on('newListener', (event: string) => {
      if (event === 'data') this.#schedule();
    });
  }

  pause(): this {
    this.#paused = true;
    this.#conn.pauseReading();
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.#schedule();
    return this;
  }

  /** Closes the connection unless the body already ended; emits nothing more. */
  destroy(err?: Error): this {
    if (!this.#done) {
      this.#done = true;
      this.#conn.destroy(err ?? new CdnHttpError('The response body was discarded.', 'CDN_SOCKET_CLOSED'));
    }
    return this;
  }

  /** Reads and drops a body of up to `limit` bytes so the connection can be reused; destroys a larger one. */
  dump(opts: { limit?: number } = {}): Promise<void> {
    if (this.#done) return Promise.resolve();
    const left = this.#conn.bodyBytesLeft();
    if (left === null || left > (opts.limit ?? 128 * 1024)) {
      this.destroy();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.removeAllListeners('data');
      this.on('error', () => resolve()).on('end', () => resolve());
      this.on('data', () => undefined);
    });
  }

  /** Called by the connection: one chunk of the body. */
  deliver(chunk: Buffer): void {
    if (!this.#done && chunk.length > 0) this.emit('data', chunk);
  }

  /** Called by the connection: the body is complete. */
  finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.emit('end');
  }

  /** Called by the connection: it failed before the body was complete. */
  fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    // A body nobody listens to yet (or any more) fails silently rather than as an uncaught 'error'.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Later, so that listeners chained after 'data' ('end', 'error') are in place first.
    process.nextTick(() => {
      this.#scheduled = false;
      if (this.#paused || this.#done || this.listenerCount('data') === 0) return;
      const early = this.#early;
      if (early) {
        this.#early = null;
        this.#conn.feedOwned(early);
        if (this.#paused || this.#done) return;
      }
      this.#conn.resumeReading();
    });
  }
}

type Pending = { resolve: (r: HttpResponse) => void; reject: (err: unknown) => void };

/** One socket to one origin, carrying one exchange at a time. */
class Connection {
  readonly socket: net.Socket;
  readonly origin: string;
  #pool: CdnHttpPool;
  #state: 'connecting' | 'idle' | 'head' | 'body' | 'closed' = 'connecting';
  #head: Buffer | null = null;
  #framer: BodyFramer | null = null;
  #body: HttpBody | null = null;
  #pending: Pending | null = null;
  #timer: NodeJS.Timeout | null = null;
  #bodyTimeout = 0;
  #signal: AbortSignal | null = null;
  /** Bytes of the current response received so far (0: a reused connection died before answering). */
  #received = 0;
  #keepAlive = false;
  #idleTimer: NodeJS.Timeout | null = null;
  /** The body's consumer asked for no more for now. */
  #held = false;
  /** Bytes read in this turn of the event loop; past TURN_BYTES, reading waits for the next turn. */
  #turnBytes = 0;
  #yielding = false;

  constructor(pool: CdnHttpPool, url: URL, connectTimeout: number) {
    this.#pool = pool;
    this.origin = url.origin;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const onread = { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => this.#onRead(n, buf as Buffer) };
    if (url.protocol === 'https:') {
      const opts: tls.ConnectionOptions & { onread: net.OnReadOpts } = {
        host,
        port: Number(url.port || 443),
        servername: net.isIP(host) ? undefined : host,
        ALPNProtocols: ['http/1.1'],
        onread,
        ...pool.tls,
      };
      this.socket = tls.connect(opts);
    } else {
      this.socket = net.connect({ host, port: Number(url.port || 80), onread });
    }
    this.socket.setNoDelay(true);
    this.#arm(connectTimeout, () =>
      this.destroy(new CdnHttpError(`Connecting to ${url.host} timed out.`, 'CDN_CONNECT_TIMEOUT')),
    );
    this.socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      if (this.#state === 'connecting') this.#disarm();
    });
    this.socket.on('error', (err) => this.destroy(err));
    this.socket.on('end', () => this.#onEof());
    this.socket.on('close', () => this.#onEof());
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Sends a GET and resolves with the response once its head is in. */
  send(url: URL, opts: HttpRequestOptions): Promise<HttpResponse> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const wasConnecting = this.#state === 'connecting';
    this.#state = 'head';
    this.#received = 0;
    this.#head = null;
    this.#bodyTimeout = opts.bodyTimeout;
    this.#signal = opts.signal;
    opts.signal.addEventListener('abort', this.#onAbort, { once: true });
    let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
    for (const [k, v] of Object.entries(opts.headers)) head += `${k}: ${v}\r\n`;
    this.socket.write(`${head}\r\n`, 'latin1');
    const headersTimeout = () =>
      this.#arm(opts.headersTimeout, () =>
        this.destroy(new CdnHttpError('The CDN sent no response headers in time.', 'CDN_HEADERS_TIMEOUT')),
      );
    // The connect deadline runs first; the headers deadline starts once connected.
    if (wasConnecting && this.#timer) {
      this.socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', headersTimeout);
    } else headersTimeout();
    this.resumeReading();
    return new Promise((resolve, reject) => (this.#pending = { resolve, reject }));
  }

  pauseReading(): void {
    if (this.#state === 'body') {
      this.#held = true;
      this.#disarm();
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.#state === 'closed') return;
    this.#held = false;
    if (this.#state === 'body') this.#armBody();
    if (!this.#yielding) this.socket.resume();
  }

  #nextTurn = (): void => {
    this.#yielding = false;
    this.#turnBytes = 0;
    if (!this.#held && this.#state !== 'closed') this.socket.resume();
  };

  /** Remaining bytes of a body of known length; null when unknown. */
  bodyBytesLeft(): number | null {
    return this.#framer?.remaining ?? null;
  }

  /** Feeds bytes the connection already owns (those that came with the head). */
  feedOwned(data: Buffer): void {
    this.#onBody(data);
  }

  destroy(err: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#disarm();
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.socket.destroy();
    this.#pool.forget(this);
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(err);
    this.#body?.fail(err);
  }

  #onAbort = (): void => {
    this.destroy(this.#signal!.reason as Error);
  };

  #onEof(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'body' && this.#framer!.untilClose) {
      // A body delimited by the close: this is its end.
      const body = this.#body!;
      this.#body = null;
      body.finish();
      this.destroy(new CdnHttpError('closed', 'CDN_SOCKET_CLOSED'));
      return;
    }
    const what = this.#state === 'body' ? 'in the middle of the response body' : 'before answering';
    this.destroy(new CdnHttpError(`The CDN closed the connection ${what}.`, 'CDN_SOCKET_CLOSED'));
  }

  #onRead(n: number, buf: Buffer): boolean {
    if (this.#state === 'closed') return false;
    this.#received += n;
    const data = buf.subarray(0, n);
    if (this.#state === 'body') {
      this.#timer?.refresh();
      this.#onBody(data);
      this.#turnBytes += n;
      if (this.#turnBytes >= TURN_BYTES && !this.#yielding && !this.closed) {
        this.#yielding = true;
        this.socket.pause();
        setImmediate(this.#nextTurn);
      }
    } else if (this.#state === 'head') {
      this.#onHead(data);
    } else {
      // Bytes on an idle connection: nothing was asked, so it cannot be trusted any more.
      this.destroy(new CdnHttpError('The CDN sent bytes nobody asked for.', 'CDN_BAD_RESPONSE'));
    }
    return !this.closed;
  }

  #onHead(data: Buffer): void {
    let acc = this.#head ? Buffer.concat([this.#head, data]) : Buffer.from(data);
    for (;;) {
      const end = acc.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (acc.length > MAX_HEAD)
          this.destroy(new CdnHttpError('The CDN response head is too large.', 'CDN_BAD_RESPONSE'));
        else this.#head = acc;
        return;
      }
      const head = parseResponseHead(acc.subarray(0, end).toString('latin1'));
      if (head instanceof Error) {
        this.destroy(new CdnHttpError(head.message, 'CDN_BAD_RESPONSE'));
        return;
      }
      acc = acc.subarray(end + 4);
      if (head.statusCode >= 100 && head.statusCode < 200) continue; // 100 Continue and the like
      this.#head = null;
      this.#startBody(head.statusCode, head.headers, head.framing, head.keepAlive, acc);
      return;
    }
  }

  #startBody(
    statusCode: number,
    headers: Record<string, string | string[]>,
    framing: Framing,
    keepAlive: boolean,
    rest: Buffer,
  ): void {
    this.#keepAlive = keepAlive;
    this.#framer = new BodyFramer(framing);
    this.#state = 'body';
    // The bytes that came with the head are fed once the consumer listens, even none: a body
    // that is already complete ends then, not before anyone could hear it.
    const body = new HttpBody(this, rest);
    this.#body = body;
    // Nothing more is read until the body's consumer asks for it.
    this.#held = true;
    this.socket.pause();
    this.#disarm();
    const pending = this.#pending!;
    this.#pending = null;
    pending.resolve({ statusCode, headers, body });
  }

  #onBody(data: Buffer): void {
    const framer = this.#framer!;
    const body = this.#body!;
    const extra = framer.feed(data, body);
    if (extra instanceof Error) {
      this.destroy(new CdnHttpError(extra.message, 'CDN_BAD_RESPONSE'));
      return;
    }
    if (this.closed || !framer.complete) return;
    if (extra > 0) this.#keepAlive = false; // bytes past the response: not reusable
    this.#complete();
  }

  #complete(): void {
    this.#disarm();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#signal = null;
    const body = this.#body!;
    this.#body = null;
    this.#framer = null;
    this.#state = 'idle';
    body.finish();
    if (this.#state !== 'idle') return;
    if (!this.#keepAlive || !this.#pool.park(this)) {
      this.destroy(new CdnHttpError('closed', 'CDN_SOCKET_CLOSED'));
      return;
    }
    this.socket.resume(); // an idle socket reads so that a close by the server is noticed
    this.#idleTimer = setTimeout(() => this.destroy(new CdnHttpError('idle', 'CDN_SOCKET_CLOSED')), KEEP_ALIVE_MS);
    this.#idleTimer.unref();
  }

  /** True when the exchange died before a single byte of response came back. */
  get unanswered(): boolean {
    return this.#received === 0;
  }

  #armBody(): void {
    if (this.#bodyTimeout > 0)
      this.#arm(this.#bodyTimeout, () =>
        this.destroy(new CdnHttpError('The CDN response body went idle for too long.', 'CDN_BODY_TIMEOUT')),
      );
  }

  #arm(ms: number, fire: () => void): void {
    this.#disarm();
    this.#timer = setTimeout(fire, ms);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** Connections per origin; `request()` reuses an idle one or opens a new one. */
export class CdnHttpPool {
  readonly #idle = new Map<string, Connection[]>();
  readonly #open = new Set<Connection>();
  #closing: (() => void) | null = null;
  #closed = false;
  /** Extra TLS options (tests: a private CA). */
  readonly tls: tls.ConnectionOptions;

  constructor(opts: { tls?: tls.ConnectionOptions } = {}) {
    this.tls = opts.tls ?? {};
  }

  async request(url: URL, opts: HttpRequestOptions): Promise<HttpResponse> {
    if (this.#closed) throw new CdnHttpError('The CDN client is closed.', 'CDN_SOCKET_CLOSED');
    opts.signal.throwIfAborted();
    const idle = this.#take(url.origin);
    if (idle) {
      try {
        return await idle.send(url, opts);
      } catch (err) {
        // The server closed an idle connection as it was reused: try once on a fresh one.
        const code = (err as { code?: unknown }).code;
        const closed = code === 'CDN_SOCKET_CLOSED' || code === 'ECONNRESET' || code === 'EPIPE';
        if (opts.signal.aborted || !idle.unanswered || !closed) throw err;
      }
    }
    const conn = new Connection(this, url, opts.connectTimeout);
    this.#open.add(conn);
    return conn.send(url, opts);
  }

  /** Closes idle connections now and resolves once the busy ones are done. */
  close(): Promise<void> {
    this.#closed = true;
    for (const list of this.#idle.values())
      for (const c of [...list]) c.destroy(new CdnHttpError('closed', 'CDN_SOCKET_CLOSED'));
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#closing = resolve));
  }

  /** Keeps a connection whose exchange ended cleanly; false when it should be closed instead. */
  park(conn: Connection): boolean {
    if (this.#closed) return false;
    let list = this.#idle.get(conn.origin);
    if (!list) this.#idle.set(conn.origin, (list = []));
    if (list.length >= MAX_IDLE_PER_ORIGIN) return false;
    list.push(conn);
    return true;
  }

  forget(conn: Connection): void {
    const list = this.#idle.get(conn.origin);
    const i = list?.indexOf(conn) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    if (list?.length === 0) this.#idle.delete(conn.origin);
    this.#open.delete(conn);
    if (this.#open.size === 0) this.#closing?.();
  }

  #take(origin: string): Connection | null {
    const list = this.#idle.get(origin);
    for (let c = list?.pop(); c; c = list!.pop()) if (!c.closed) return c;
    return null;
  }
}
