/**
 * One ranged GET against the CDN with retries: status mapping, backoff with full jitter,
 * `Retry-After`, and the checks that make a resumed body safe to splice onto the previous one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, CdnUnavailableError, MediaExpiredError, MediaTooLargeError } from '../errors.js';

/** Minimal pino-compatible logger. */
export interface CdnLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A response body as cdn-resume.ts reads it: undici's (through a proxy) or cdn-http.ts's. */
export interface CdnResponseBody {
  on(event: 'data', fn: (chunk: Buffer) => void): this;
  on(event: 'end', fn: () => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  off(event: 'data', fn: (chunk: Buffer) => void): this;
  off(event: 'end', fn: () => void): this;
  off(event: 'error', fn: (err: Error) => void): this;
  pause(): unknown;
  resume(): unknown;
  destroy(err?: Error): unknown;
  dump(opts?: { limit: number }): Promise<unknown>;
}

export type CdnHeaders = Record<string, string | string[] | undefined>;

/** One answered GET. */
export interface CdnResponse {
  statusCode: number;
  headers: CdnHeaders;
  body: CdnResponseBody;
  /** The body's 'data' chunks are only valid during the listener call (cdn-http.ts's shared read buffer). */
  borrowed: boolean;
}

/** Sends one GET (the direct client or a proxy's dispatcher) and resolves once its head is in. */
export type CdnSend = (url: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<CdnResponse>;

/** State shared by every request of one transfer (the first one and all resumes). */
export interface Transfer {
  readonly url: URL;
  /** Direct, or through the session's proxy; applies the connect, headers and body deadlines. */
  readonly send: CdnSend;
  /** The session's proxy the requests go through, without credentials (for error messages). */
  readonly via: string | null;
  /** Aborts whatever request or backoff is in flight. */
  readonly signal: AbortSignal;
  readonly maxRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly maxRetryAfterMs: number;
  readonly maxBytes: number | undefined;
  readonly logger: CdnLogger | undefined;
  /** Retries and resumes used so far; both draw on `maxRetries`. */
  retries: number;
  /** Of those, the resumes of a cut body. */
  resumes: number;
  /** Told of every retry and resume (the CDN series). */
  readonly onRetry: ((kind: 'retry' | 'resume') => void) | undefined;
  readonly onBytes: ((n: number) => void) | undefined;
  /** Validators of the first response; later responses must carry the same. */
  validator: { etag: string | undefined; lastModified: string | undefined } | null;
  /** Whole-file size once any response told it. */
  totalSize: number | null;
}

/** A response body and where it sits in the file. */
export interface Part {
  readonly body: CdnResponseBody;
  /** See {@link CdnResponse.borrowed}. */
  readonly borrowed: boolean;
  /** Absolute offset of the body's first byte (0 when the server ignored `Range`). */
  readonly start: number;
  /** Absolute offset of its last byte, when known. */
  readonly end: number | null;
}

/** A retryable HTTP status, kept as the `cause` of the final error. */
export class CdnStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly retryAfterMs: number | null,
  ) {
    super(`The CDN answered with HTTP ${statusCode}.`);
    this.name = 'CdnStatusError';
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'CDN_CONNECT_TIMEOUT',
  'CDN_HEADERS_TIMEOUT',
  'CDN_BODY_TIMEOUT',
  'CDN_SOCKET_CLOSED',
]);

/** Network failures, timeouts, cut bodies and 5xx/429 are worth another try; nothing else is. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CdnStatusError) return true;
  if (err instanceof AppError || !(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

/** Consumes a small unwanted body so the connection can be reused, or destroys a large one. */
export function discard(body: CdnResponseBody): void {
  body.dump({ limit: 64 * 1024 }).catch(() => undefined);
}

/**
 * Fetches bytes `start..end` (inclusive; `end` null = to the end of the file). With `cause`
 * set this is a retry or a resume and first spends one retry (failing with
 * `CdnUnavailableError` when none is left) and waits the backoff.
 */
export async function fetchPart(t: Transfer, start: number, end: number | null, cause?: unknown): Promise<Part> {
  let lastError = cause;
  // Called with a cause, the first attempt continues a cut body; later ones are retries.
  let kind: 'retry' | 'resume' = cause === undefined ? 'retry' : 'resume';
  for (;;) {
    if (lastError !== undefined) await backoff(t, lastError, kind);
    kind = 'retry';
    const headers: Record<string, string> = {
      // Byte offsets must be those of the stored file, so no content coding.
      'accept-encoding': 'identity',
      origin: 'https://web.whatsapp.com',
    };
    if (start > 0 || end !== null) headers.range = `bytes=${start}-${end ?? ''}`;
    let res: CdnResponse;
    try {
      res = await t.send(t.url, headers, t.signal);
    } catch (err) {
      if (t.signal.aborted) throw t.signal.reason;
      if (!isRetryable(err)) throw unavailable(`The CDN request failed${through(t)}.`, err);
      lastError = err;
      continue;
    }
    const status = res.statusCode;
    if (status === 200 || status === 206) {
      try {
        return acceptPart(t, res, start, end);
      } catch (err) {
        discard(res.body);
        throw err;
      }
    }
    discard(res.body);
    if (status === 403 || status === 404 || status === 410) {
      throw new MediaExpiredError(undefined, { cause: new CdnStatusError(status, null) });
    }
    if (status >= 500 || status === 429) {
      lastError = new CdnStatusError(status, status === 429 || status === 503 ? retryAfterMs(res.headers) : null);
      continue;
    }
    if (status >= 300 && status < 400)
      throw unavailable(`The CDN answered with a redirect (HTTP ${status}), which is not followed.`);
    throw unavailable(`The CDN answered with HTTP ${status}.`);
  }
}

async function backoff(t: Transfer, cause: unknown, kind: 'retry' | 'resume'): Promise<void> {
  if (t.retries >= t.maxRetries) {
    throw unavailable(`The CDN failed after ${t.maxRetries} retries${through(t)}.`, cause);
  }
  t.retries += 1;
  if (kind === 'resume') t.resumes += 1;
  t.onRetry?.(kind);
  const hinted = cause instanceof CdnStatusError ? cause.retryAfterMs : null;
  const delay =
    hinted !== null
      ? Math.min(hinted, t.maxRetryAfterMs)
      : Math.random() * Math.min(t.retryMaxDelayMs, t.retryBaseDelayMs * 2 ** (t.retries - 1));
  t.logger?.warn(
    { host: t.url.host, retry: t.retries, delayMs: Math.round(delay), err: cause },
    'retrying CDN request',
  );
  try {
    await sleep(delay, undefined, { signal: t.signal });
  } catch {
    throw t.signal.reason;
  }
}

function acceptPart(t: Transfer, res: CdnResponse, start: number, end: number | null): Part {
  const h = res.headers;
  let part: Part;
  let total: number | null;
  if (res.statusCode === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(h, 'content-range') ?? '');
    const [a, b] = [Number(m?.[1]), Number(m?.[2])];
    total = m?.[3] === undefined || m[3] === '*' ? null : Number(m[3]);
    if (!m || a !== start || b < a || (end !== null && b > end) || (total !== null && b >= total)) {
      throw unavailable('The CDN answered a range request with a mismatched Content-Range.');
    }
    part = { body: res.body, borrowed: res.borrowed, start: a, end: b };
  } else {
    const length = header(h, 'content-length');
    total = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
    // A 200 to a range request means the server ignored Range: the caller skips the prefix.
    part = { body: res.body, borrowed: res.borrowed, start: 0, end: total === null ? null : total - 1 };
  }
  if (total !== null && t.totalSize !== null && total !== t.totalSize) {
    throw unavailable('The media file changed size on the CDN between two requests.');
  }
  const etag = header(h, 'etag');
  const lastModified = header(h, 'last-modified');
  const first = t.validator;
  if (first === null) t.validator = { etag, lastModified };
  else if (
    first.etag !== undefined
      ? etag !== first.etag
      : first.lastModified !== undefined && lastModified !== first.lastModified
  ) {
    throw unavailable('The media file changed on the CDN between two requests.');
  }
  const known = total ?? (part.end === null ? null : part.end + 1);
  if (t.maxBytes !== undefined && known !== null && known > t.maxBytes) throw new MediaTooLargeError(t.maxBytes);
  t.totalSize ??= total;
  return part;
}

function header(h: CdnHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function retryAfterMs(h: CdnHeaders): number | null {
  const v = header(h, 'retry-after');
  if (v === undefined) return null;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

const through = (t: Transfer) => (t.via ? ` (through the session's proxy ${t.via})` : '');

function unavailable(message: string, cause?: unknown): CdnUnavailableError {
  return new CdnUnavailableError(message, cause === undefined ? {} : { cause });
}
