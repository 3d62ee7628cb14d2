/**
 * Client for the encrypted media files on the WhatsApp CDN. Only allowlisted origins are ever
 * contacted, redirects are not followed, transient failures are retried with backoff, and a
 * body cut midway is resumed with a Range request, so callers see one clean stream of bytes.
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { ConnectionOptions } from 'node:tls';
import { CdnHostNotAllowedError, CdnUnavailableError } from '../errors.js';
import { type AllowRule, DEFAULT_CDN_ALLOWLIST, isAllowedOrigin, parseAllowlist } from './cdn-allowlist.js';
import { createProxyDispatcher } from './cdn-proxy.js';
import { CdnHttpPool } from './cdn-http.js';
import { type CdnLogger, type CdnSend, type Transfer, fetchPart } from './cdn-request.js';
import { ResumingStream } from './cdn-resume.js';
import type { ChunkDecoder } from './chunk-decoder.js';

export type { CdnLogger } from './cdn-request.js';

export interface CdnClientOptions {
  /** Prefix for `directPath` (default `https://mmg.whatsapp.net`); must itself be allowlisted. */
  baseUrl?: string;
  /** Origins that may be fetched (default: {@link DEFAULT_CDN_ALLOWLIST}). */
  allowlist?: AllowRule[];
  connectTimeoutMs?: number;
  /** Reaching a session's proxy and its CONNECT/SOCKS handshake (default: connectTimeoutMs). */
  proxyTimeoutMs?: number;
  /** SESSION_PROXY_ALLOW_PRIVATE_NETWORKS: session proxies on loopback or private addresses are reached. */
  proxyAllowPrivateNetworks?: boolean;
  /** Time to wait for response headers. */
  headersTimeoutMs?: number;
  /** Longest idle gap between two body chunks. */
  bodyTimeoutMs?: number;
  /** Retries per transfer, resumes included (default 3). */
  maxRetries?: number;
  /** Base of the exponential backoff with full jitter (default 200 ms). */
  retryBaseDelayMs?: number;
  /** Cap of one backoff delay (default 5 s). */
  retryMaxDelayMs?: number;
  /** Cap applied to a server's `Retry-After` (default 10 s). */
  maxRetryAfterMs?: number;
  /** Largest whole-file size accepted. */
  maxBytes?: number;
  logger?: CdnLogger;
  /** Told of every retry and resume (the CDN series). */
  onRetry?: (kind: 'retry' | 'resume') => void;
  /** Told of the bytes of every body chunk received (the CDN series). */
  onBytes?: (n: number) => void;
  /** Extra TLS options of direct connections (a private CA in tests). */
  tls?: ConnectionOptions;
}

/** Where a media file lives (`directPath`, preferred, or a full `url`) and how to reach it. */
export interface CdnMediaRef {
  directPath?: string | null;
  url?: string | null;
  /** The session's proxy: the file is fetched through it (see cdn-proxy.ts). */
  proxy?: string | null;
}

export interface CdnOpenOptions {
  signal?: AbortSignal;
  /** First encrypted-file offset wanted (default 0). */
  start?: number;
  /** Last encrypted-file offset wanted, inclusive (default: end of file). */
  end?: number;
  /**
   * Decodes the bytes as they arrive (the decryption), in the stream itself rather than in a
   * stream after it: `stream` then yields the decoder's output, and its end waits for the
   * decoder's checks. `size` and `progress` still count the file's bytes.
   */
  decode?: (sink: (chunk: Buffer) => void) => ChunkDecoder;
}

export interface CdnBody {
  /** Exactly the requested bytes (decoded, with `decode`); errors with `CdnUnavailableError` if the CDN gives up midway. */
  stream: Readable;
  /** Length of the requested bytes, when known. */
  size: number | null;
  /** Whole-file size, when known. */
  totalSize: number | null;
  /** Whether the requests go through the session's proxy. */
  throughProxy: boolean;
  /** Bytes received and resumes so far. */
  progress: CdnProgress;
}

export interface CdnProgress {
  readonly bytesReceived: number;
  readonly resumes: number;
}

export interface CdnClient {
  /** The URL a ref points at; throws `CdnHostNotAllowedError` unless its origin is allowlisted. */
  resolveUrl(ref: CdnMediaRef): URL;
  /** Resolves once the first response headers are good; see {@link CdnBody}. */
  open(ref: CdnMediaRef, opts?: CdnOpenOptions): Promise<CdnBody>;
  /**
   * Allows one exact origin, only under `pathPrefix`, reached directly, never through a proxy
   * (the sandbox simulator's own CDN, once listening). The rest of that origin stays refused,
   * whatever the allowlist says: a message must not make the server fetch its own routes.
   */
  allowOrigin(origin: string, pathPrefix: string): void;
  /** Closes the keep-alive connections once in-flight transfers are done. */
  close(): Promise<void>;
}

const withoutCredentials = (proxy: string) => {
  const u = new URL(proxy);
  return `${u.protocol}//${u.host}`;
};

// Distinct session proxies kept open at once; the oldest is closed beyond that.
const MAX_PROXIES = 256;

/** Creates a CDN client owning one keep-alive connection pool (and one per proxy in use). */
export function createCdnClient(opts: CdnClientOptions = {}): CdnClient {
  // Our own copy: allowOrigin() may add to it, the caller's list stays as given.
  const allowlist = [...(opts.allowlist ?? parseAllowlist(DEFAULT_CDN_ALLOWLIST))];
  const base = new URL(opts.baseUrl ?? 'https://mmg.whatsapp.net');
  if (!isAllowedOrigin(base, allowlist)) throw new Error(`CDN base URL ${base.origin} is not on the CDN allowlist.`);
  const basePrefix = base.origin + base.pathname.replace(/\/+$/, '');
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const timeouts = { headersTimeout: opts.headersTimeoutMs ?? 15_000, bodyTimeout: opts.bodyTimeoutMs ?? 30_000 };
  const pool = new CdnHttpPool(opts.tls ? { tls: opts.tls } : {});
  const direct: CdnSend = async (url, headers, signal) => ({
    ...(await pool.request(url, { headers, signal, connectTimeout: connectTimeoutMs, ...timeouts })),
    borrowed: true,
  });
  const proxies = new Map<string, CdnSend & { dispatcher: Dispatcher }>();
  // Our own origins (the simulator's): a proxy elsewhere could not reach them.
  const ownOrigins = new Set<string>();
  // Those origins may only be fetched under their prefix.
  const ownPrefixes = new Map<string, string>();

  function viaProxy(proxy: string): CdnSend {
    let send = proxies.get(proxy);
    if (!send) {
      let d: Dispatcher;
      try {
        d = createProxyDispatcher(
          proxy,
          opts.proxyTimeoutMs ?? connectTimeoutMs,
          opts.proxyAllowPrivateNetworks ?? false,
        );
      } catch (err) {
        // The proxy's address is refused by the address policy: the tenant hears no more than that.
        throw new CdnUnavailableError(
          `The CDN could not be reached through the session's proxy ${withoutCredentials(proxy)}.`,
          { cause: err },
        );
      }
      const dispatcher = d;
      send = Object.assign(
        async (url: URL, headers: Record<string, string>, signal: AbortSignal) => {
          const res = await request(url, { dispatcher, ...timeouts, method: 'GET', headers, signal });
          return { statusCode: res.statusCode, headers: res.headers, body: res.body, borrowed: false };
        },
        { dispatcher },
      );
      proxies.set(proxy, send);
      if (proxies.size > MAX_PROXIES) {
        const [oldest, old] = proxies.entries().next().value!;
        proxies.delete(oldest);
        void old.dispatcher.close();
      }
    }
    return send;
  }

  function resolveUrl(ref: CdnMediaRef): URL {
    const raw = ref.directPath ? basePrefix + ref.directPath : ref.url;
    if (!raw) throw new TypeError('A media reference needs a directPath or a url.');
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CdnHostNotAllowedError('(unparseable URL)');
    }
    // A directPath must stay on the base origin (e.g. "@evil.com/x" would change the host).
    const offBase = Boolean(ref.directPath) && url.origin !== base.origin;
    if (offBase || !isAllowedOrigin(url, allowlist)) throw new CdnHostNotAllowedError(url.origin);
    // URL parsing has already resolved "..", "%2e%2e" and the like in the path.
    const prefix = ownPrefixes.get(url.origin);
    if (prefix !== undefined && !url.pathname.startsWith(prefix))
      throw new CdnHostNotAllowedError(`${url.origin} outside ${prefix}`);
    return url;
  }

  async function open(ref: CdnMediaRef, o: CdnOpenOptions = {}): Promise<CdnBody> {
    const url = resolveUrl(ref);
    const start = o.start ?? 0;
    const wanted = o.end ?? null;
    if (
      !Number.isSafeInteger(start) ||
      start < 0 ||
      (wanted !== null && !(Number.isSafeInteger(wanted) && wanted >= start))
    ) {
      throw new RangeError(`Invalid CDN byte range ${start}-${wanted ?? ''}.`);
    }
    const signal = o.signal;
    signal?.throwIfAborted();

    const controller = new AbortController();
    let stream: ResumingStream | null = null;
    const onAbort = (): void => {
      controller.abort(signal?.reason);
      stream?.destroy(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const release = (reason: unknown): void => {
      signal?.removeEventListener('abort', onAbort);
      if (reason !== undefined && !controller.signal.aborted) controller.abort(reason);
    };

    const proxy = ref.proxy && !ownOrigins.has(url.origin) ? ref.proxy : null;
    const t: Transfer = {
      url,
      send: proxy ? viaProxy(proxy) : direct,
      via: proxy ? withoutCredentials(proxy) : null,
      signal: controller.signal,
      maxRetries: opts.maxRetries ?? 3,
      retryBaseDelayMs: opts.retryBaseDelayMs ?? 200,
      retryMaxDelayMs: opts.retryMaxDelayMs ?? 5_000,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? 10_000,
      maxBytes: opts.maxBytes,
      logger: opts.logger,
      retries: 0,
      resumes: 0,
      onRetry: opts.onRetry,
      onBytes: opts.onBytes,
      validator: null,
      totalSize: null,
    };
    try {
      const first = await fetchPart(t, start, wanted);
      const end = t.totalSize === null ? wanted : Math.min(wanted ?? Infinity, t.totalSize - 1);
      if (end !== null && start > end && !(start === 0 && t.totalSize === 0)) {
        first.body.destroy();
        throw new CdnUnavailableError(
          `The requested range starts beyond the end of the CDN file (${t.totalSize} bytes).`,
        );
      }
      stream = new ResumingStream(t, first, start, end, release, o.decode);
      return {
        stream,
        size: end === null ? null : end - start + 1,
        totalSize: t.totalSize,
        throughProxy: proxy !== null,
        progress: stream,
      };
    } catch (err) {
      release(err);
      throw err;
    }
  }

  return {
    resolveUrl,
    open,
    allowOrigin(origin: string, pathPrefix: string) {
      const o = new URL(origin).origin;
      allowlist.push(...parseAllowlist(o));
      ownOrigins.add(o);
      ownPrefixes.set(o, pathPrefix);
    },
    close: async () => {
      await Promise.all([pool.close(), ...[...proxies.values()].map((p) => p.dispatcher.close())]);
    },
  };
}
