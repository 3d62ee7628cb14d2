import { Readable } from 'node:stream';

/** Turns source chunks into output chunks, handing each to the sink it was made with. */
export interface ChunkDecoder {
  /** Consumes one source chunk; throws to fail the stream. */
  update(chunk: Buffer): void;
  /** The source ended: runs the end-of-input checks and emits the last bytes; throws to fail. */
  final(): void;
}

/** The source closed without ending or erroring (destroyed under us). */
class SourceClosedError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
  constructor() {
    super('The source stream closed before its end.');
    this.name = 'SourceClosedError';
  }
}

/**
 * The output of `decoder` over `source`, as one Readable that takes the source's chunks
 * straight from its 'data' events: what `pipeline(source, new Transform(…))` does, without
 * the Transform's writable half, pipe()'s bookkeeping or the ticks they cost per chunk.
 * Backpressure is passed on (the source is paused while this stream's buffer is full), an
 * error on either side destroys both, and so does destroying this stream.
 */
export class DecodedReadable<D extends ChunkDecoder> extends Readable {
  readonly decoder: D;
  readonly #source: Readable;
  #full = false;
  #sourceEnded = false;

  constructor(source: Readable, makeDecoder: (sink: (chunk: Buffer) => void) => D) {
    super();
    this.#source = source;
    this.decoder = makeDecoder(this.#sink);
    source
      .on('data', this.#onData)
      .once('end', this.#onEnd)
      // Kept for good: a source may emit a second error while it is torn down.
      .on('error', this.#onError)
      .once('close', this.#onClose);
  }

  override _read(): void {
    if (!this.#full) return;
    this.#full = false;
    this.#source.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const source = this.#source;
    source.off('data', this.#onData).off('end', this.#onEnd).off('close', this.#onClose);
    if (!source.destroyed) source.destroy(err ?? undefined);
    cb(err);
  }

  // One bound function for the stream's life: nothing is allocated per chunk here.
  #sink = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.#full = true;
  };

  #onData = (chunk: Buffer): void => {
    try {
      this.decoder.update(chunk);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (this.#full) this.#source.pause();
  };

  #onEnd = (): void => {
    this.#sourceEnded = true;
    try {
      this.decoder.final();
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    this.push(null);
  };

  #onError = (err: Error): void => {
    this.destroy(err);
  };

  #onClose = (): void => {
    if (!this.#sourceEnded && !this.destroyed) this.destroy(this.#source.errored ?? new SourceClosedError());
  };
}
