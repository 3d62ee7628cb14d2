/**
 * The stream handed to callers: exactly the requested bytes of a CDN file, stitched from as
 * many responses as it takes. When a body is cut (socket error, idle timeout, fewer bytes than
 * announced) it asks for `Range: bytes=<next>-<end>` and carries on.
 */
import { Readable } from 'node:stream';
import { CdnUnavailableError, MediaTooLargeError } from '../errors.js';
import { type CdnResponseBody, type Part, type Transfer, fetchPart, isRetryable } from './cdn-request.js';
import type { ChunkDecoder } from './chunk-decoder.js';

const noop = (): void => undefined;

/** Raised internally when a body ends before the bytes it announced. */
class PrematureEndError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor(at: number) {
    super(`The CDN response ended early, at offset ${at}.`);
    this.name = 'PrematureEndError';
  }
}

/**
 * Readable over one transfer. Backpressure is passed through: when `push()` refuses, the
 * current response body is paused (and undici stops reading the socket); `_read()` resumes it.
 */
export class ResumingStream extends Readable {
  readonly #t: Transfer;
  readonly #onClose: (reason: unknown) => void;
  /** Next absolute offset to deliver. */
  #pos: number;
  readonly #start: number;
  /** Last absolute offset wanted (inclusive); null until the file size is known. */
  #end: number | null;
  #body: CdnResponseBody | null = null;
  /** The current body's chunks must be copied before they are kept (see CdnResponse.borrowed). */
  #borrowed = false;
  #bodyEnd: number | null = null;
  /** Bytes at the head of the current body that were already delivered (server ignored Range). */
  #skip = 0;
  /** Turns the file's bytes into what this stream yields (the decrypted plaintext); null: the bytes as they are. */
  readonly #decoder: ChunkDecoder | null;
  /** The decoder's last output was refused by push(): the body waits for the next _read(). */
  #full = false;

  constructor(
    t: Transfer,
    first: Part,
    start: number,
    end: number | null,
    onClose: (reason: unknown) => void,
    decode?: (sink: (chunk: Buffer) => void) => ChunkDecoder,
  ) {
    // A direct read (cdn-http.ts) is up to READ_SIZE and is delivered whole, so the buffer can
    // hold that much past this mark; a larger mark measured no faster.
    super({ highWaterMark: 64 * 1024 });
    this.#decoder = decode ? decode(this.#sink) : null;
    this.#t = t;
    this.#onClose = onClose;
    this.#pos = start;
    this.#start = start;
    this.#end = end;
    this.#attach(first);
  }

  /** Bytes handed on so far (a transfer's bytes from the CDN). */
  get bytesReceived(): number {
    return this.#pos - this.#start;
  }

  /** Times a cut body was continued with a Range request. */
  get resumes(): number {
    return this.#t.resumes;
  }

  override _read(): void {
    this.#full = false;
    this.#body?.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroying an unfinished undici body aborts its request, so the socket is closed.
    this.#detach()?.destroy(err ?? undefined);
    const early = this.readableEnded ? undefined : new DOMException('The CDN stream was closed.', 'AbortError');
    this.#onClose(err ?? early);
    cb(err);
  }

  #attach(part: Part): void {
    const body = part.body;
    this.#body = body;
    this.#borrowed = part.borrowed;
    this.#bodyEnd = part.end;
    this.#skip = this.#pos - part.start;
    if (this.#end === null && this.#t.totalSize !== null) this.#end = this.#t.totalSize - 1;
    body.on('data', this.#onData).on('end', this.#onEnd).on('error', this.#onError);
    if (this.readableLength >= this.readableHighWaterMark) body.pause();
  }

  #detach(): CdnResponseBody | null {
    const body = this.#body;
    if (body === null) return null;
    this.#body = null;
    body.off('data', this.#onData).off('end', this.#onEnd).off('error', this.#onError).on('error', noop);
    return body;
  }

  #onData = (chunk: Buffer): void => {
    let c = chunk;
    if (this.#skip > 0) {
      const drop = Math.min(this.#skip, c.length);
      this.#skip -= drop;
      c = c.subarray(drop);
    }
    if (this.#end !== null && c.length > this.#end - this.#pos + 1) c = c.subarray(0, this.#end - this.#pos + 1);
    if (c.length === 0) return;
    this.#pos += c.length;
    this.#t.onBytes?.(c.length);
    const max = this.#t.maxBytes;
    if (max !== undefined && this.#pos > max) {
      this.destroy(new MediaTooLargeError(max));
      return;
    }
    const decoder = this.#decoder;
    let more: boolean;
    if (decoder) {
      try {
        decoder.update(c);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      more = !this.#full;
    } else {
      more = this.push(this.#borrowed ? Buffer.from(c) : c);
    }
    if (this.#end !== null && this.#pos > this.#end) {
      // Done. A body with more to send (server ignored the end of the range) is cut short;
      // otherwise its 'end' is imminent and lets the connection be reused.
      if (this.#bodyEnd !== this.#end) {
        this.#detach()?.destroy();
        this.#finish();
      }
      return;
    }
    if (!more) this.#body?.pause();
  };

  // One bound function for the stream's life: nothing is allocated per chunk here.
  #sink = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.#full = true;
  };

  /** Every wanted byte is in: the decoder's end-of-input checks, then the end. */
  #finish(): void {
    try {
      this.#decoder?.final();
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    this.push(null);
  }

  #onEnd = (): void => {
    this.#detach();
    if (this.#end === null || this.#pos > this.#end) this.#finish();
    else this.#resume(new PrematureEndError(this.#pos));
  };

  #onError = (err: Error): void => {
    this.#detach();
    if (this.destroyed) return;
    if (this.#t.signal.aborted) this.destroy(this.#t.signal.reason as Error);
    else if (isRetryable(err)) this.#resume(err);
    else this.destroy(new CdnUnavailableError('The CDN transfer failed.', { cause: err }));
  };

  #resume(cause: Error): void {
    if (this.destroyed) return;
    if (this.#t.totalSize !== null && this.#pos >= this.#t.totalSize) {
      this.destroy(new CdnUnavailableError('The requested range lies beyond the end of the CDN file.'));
      return;
    }
    this.#t.logger?.debug({ host: this.#t.url.host, offset: this.#pos, err: cause }, 'resuming CDN transfer');
    fetchPart(this.#t, this.#pos, this.#end, cause).then(
      (part) => {
        if (this.destroyed) part.body.destroy();
        else this.#attach(part);
      },
      // Passed through as is: an abort reason must reach the consumer unchanged.
      (err: unknown) => this.destroy(err as Error),
    );
  }
}
