import { createCipheriv, createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Small seeded PRNG (mulberry32) so failures reproduce. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random integer in [min, max]. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Splits a buffer into chunks of random sizes in [1, maxChunk]. */
export function randomChunks(buf: Buffer, random: () => number, maxChunk: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < buf.length;) {
    const n = randomInt(random, 1, maxChunk);
    chunks.push(buf.subarray(offset, offset + n));
    offset += n;
  }
  return chunks;
}

/** Deterministic pseudo-random bytes: an AES-128-CTR keystream keyed by `seed`. */
export function deterministicBytes(size: number, seed: number): Buffer {
  return keystream(seed).update(Buffer.alloc(size));
}

/** A deterministic `size`-byte stream (the same bytes as {@link deterministicBytes}) in 1 MiB chunks. */
export function deterministicStream(size: number, seed: number): Readable {
  const cipher = keystream(seed);
  const zeros = Buffer.alloc(1024 * 1024);
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(cipher.update(zeros.subarray(0, n)));
    },
  });
}

/** Writes `chunks` through `transform` and resolves with everything it emitted. */
export async function runThrough(transform: Transform, chunks: Iterable<Buffer> | Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  const source = chunks instanceof Readable ? chunks : Readable.from(chunks);
  await pipeline(source, transform, collector(parts));
  return Buffer.concat(parts);
}

/** Reads a stream to the end. */
export async function collect(source: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Streams `source` through `transform`, keeping only the SHA-256 and length of the output. */
export async function hashThrough(
  transform: Transform | null,
  source: Readable,
): Promise<{ sha256: Buffer; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      length += chunk.length;
      callback();
    },
  });
  await (transform ? pipeline(source, transform, sink) : pipeline(source, sink));
  return { sha256: hash.digest(), length };
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function collector(parts: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
}

function keystream(seed: number) {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
}
