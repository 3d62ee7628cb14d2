import { Transform, type TransformCallback } from 'node:stream';

/**
 * Turns a stream's chunks into output chunks, handing each to the sink it was made with: the
 * decryption, run inside the CDN stream (cdn-resume.ts) or wrapped as a Transform.
 */
export interface ChunkDecoder {
  /** Consumes one input chunk, which is only valid during the call (never kept); throws to fail the stream. */
  update(chunk: Buffer): void;
  /** The input ended: runs the end-of-input checks and emits the last bytes; throws to fail. */
  final(): void;
}

/** A {@link ChunkDecoder} as a Transform: what it emits is pushed, what it throws fails the stream. */
export class DecoderTransform<D extends ChunkDecoder> extends Transform {
  protected readonly decoder: D;

  constructor(make: (sink: (chunk: Buffer) => void) => D) {
    super();
    this.decoder = make((chunk) => this.push(chunk));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.update(chunk);
    } catch (err) {
      return callback(err as Error);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.final();
    } catch (err) {
      return callback(err as Error);
    }
    callback();
  }
}
