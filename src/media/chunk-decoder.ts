/**
 * Turns a stream's chunks into output chunks, handing each to the sink it was made with: the
 * decryption, run inside the CDN stream (cdn-resume.ts) or wrapped as a Transform.
 */
export interface ChunkDecoder {
  /** Consumes one input chunk; throws to fail the stream. */
  update(chunk: Buffer): void;
  /** The input ended: runs the end-of-input checks and emits the last bytes; throws to fail. */
  final(): void;
}
