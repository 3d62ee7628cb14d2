/**
 * HTTP/1.1 response parsing for the CDN client (cdn-http.ts): the head (status line and
 * headers, RFC 9112 §4–5) and the body's framing (Content-Length, chunked, or until close).
 */

export type Framing = { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface ResponseHead {
  statusCode: number;
  headers: Record<string, string | string[]>;
  framing: Framing;
  /** Whether the connection may carry another request after this response. */
  keepAlive: boolean;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Parses a response head (without the final CRLF CRLF); an Error says what is malformed. */
export function parseResponseHead(text: string): ResponseHead | Error {
  const lines = text.split('\r\n');
  const m = STATUS_LINE.exec(lines[0] ?? '');
  if (!m) return new Error('The CDN sent a malformed HTTP status line.');
  const minor = m[1];
  const statusCode = Number(m[2]);
  const headers: Record<string, string | string[]> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) return new Error('The CDN sent a malformed HTTP header.');
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  const connection = list(headers.connection);
  let keepAlive = minor === '1' ? !connection.includes('close') : connection.includes('keep-alive');
  let framing: Framing;
  const te = list(headers['transfer-encoding']);
  if (statusCode === 204 || statusCode === 304 || (statusCode >= 100 && statusCode < 200)) {
    framing = { kind: 'length', length: 0 };
  } else if (te.length > 0) {
    // Chunked must be the last coding; any other ends at the close (RFC 9112 §6.3).
    framing = te[te.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  } else if (headers['content-length'] !== undefined) {
    const values = new Set(list(headers['content-length']));
    const [only] = values;
    if (values.size !== 1 || !/^\d{1,15}$/.test(only!)) return new Error('The CDN sent an invalid Content-Length.');
    framing = { kind: 'length', length: Number(only) };
  } else {
    framing = { kind: 'close' };
  }
  if (framing.kind === 'close') keepAlive = false;
  return { statusCode, headers, framing, keepAlive };
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',').map((x) => x.trim().toLowerCase())).filter(Boolean);
}

/** Where the body's bytes go. */
export interface BodySink {
  deliver(chunk: Buffer): void;
}

// Longest chunk-size line or trailer line accepted.
const MAX_LINE = 4096;
const LF = 10;

/**
 * Cuts a response body out of the bytes that follow the head. `feed()` hands the body's bytes
 * to the sink (subarrays of its input, no copies) and returns how many bytes came after the
 * body's end, or an Error for a malformed chunked body.
 */
export class BodyFramer {
  readonly untilClose: boolean;
  #left: number;
  readonly #chunked: boolean;
  // Chunked state: reading a size line, chunk data, the CRLF after it, or trailer lines.
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  #line = '';

  constructor(framing: Framing) {
    this.untilClose = framing.kind === 'close';
    this.#chunked = framing.kind === 'chunked';
    this.#left = framing.kind === 'length' ? framing.length : 0;
    if (framing.kind === 'length' && framing.length === 0) this.#state = 'done';
  }

  get complete(): boolean {
    if (this.untilClose) return false;
    return this.#chunked ? this.#state === 'done' : this.#left === 0;
  }

  /** Body bytes still to come, when the framing tells (a Content-Length body). */
  get remaining(): number | null {
    return this.#chunked || this.untilClose ? null : this.#left;
  }

  feed(data: Buffer, sink: BodySink): number | Error {
    if (this.untilClose) {
      sink.deliver(data);
      return 0;
    }
    if (!this.#chunked) {
      const n = Math.min(this.#left, data.length);
      this.#left -= n;
      sink.deliver(n === data.length ? data : data.subarray(0, n));
      return data.length - n;
    }
    let i = 0;
    while (i < data.length) {
      switch (this.#state) {
        case 'data': {
          const n = Math.min(this.#left, data.length - i);
          sink.deliver(data.subarray(i, i + n));
          i += n;
          this.#left -= n;
          if (this.#left === 0) {
            this.#state = 'data-end';
            this.#line = '';
          }
          break;
        }
        case 'done':
          return data.length - i;
        default: {
          // A line: the chunk size, the CRLF after chunk data, or a trailer.
          const lf = data.indexOf(LF, i);
          const end = lf < 0 ? data.length : lf;
          this.#line += data.toString('latin1', i, end);
          if (this.#line.length > MAX_LINE) return new Error('The CDN sent an overlong chunked-encoding line.');
          i = end;
          if (lf < 0) break;
          i = lf + 1;
          const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
          this.#line = '';
          const err = this.#onLine(line);
          if (err) return err;
        }
      }
    }
    return 0;
  }

  #onLine(line: string): Error | null {
    if (this.#state === 'data-end') {
      if (line !== '') return new Error('The CDN sent chunk data longer than its size.');
      this.#state = 'size';
      return null;
    }
    if (this.#state === 'trailer') {
      if (line === '') this.#state = 'done';
      return null;
    }
    const m = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
    if (!m) return new Error('The CDN sent a malformed chunk size.');
    const size = parseInt(m[1]!, 16);
    if (size === 0) this.#state = 'trailer';
    else {
      this.#state = 'data';
      this.#left = size;
    }
    return null;
  }
}
