import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_PARTS, MultipartSink, type CompletedPart, type PartStore } from '../../src/storage/multipart-sink.js';

// The part bookkeeping in isolation; test/media/persist.test.ts runs the same code against the
// S3 gateway. The store below records what a bucket would receive.
const PART = 1024;

function recordingStore(opts: { failPart?: number; delayMs?: number } = {}) {
  const rec = {
    puts: [] as Buffer[],
    creates: 0,
    parts: new Map<number, Buffer>(),
    completed: null as CompletedPart[] | null,
    inFlight: 0,
    maxInFlight: 0,
    /** Distinct ArrayBuffers the part bodies came from. */
    backings: new Set<ArrayBufferLike>(),
  };
  const store: PartStore = {
    async put(body) {
      rec.puts.push(Buffer.from(body));
    },
    async create() {
      rec.creates += 1;
      return 'upload-1';
    },
    async uploadPart(id, n, body) {
      expect(id).toBe('upload-1');
      rec.inFlight += 1;
      rec.maxInFlight = Math.max(rec.maxInFlight, rec.inFlight);
      rec.backings.add(body.buffer);
      const copy = Buffer.from(body); // what the bucket stores: the bytes as sent
      if (opts.delayMs !== 0) await sleep(opts.delayMs ?? 1);
      rec.inFlight -= 1;
      if (n === opts.failPart) throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
      rec.parts.set(n, copy);
      return `"etag-${n}"`;
    },
    async complete(id, parts) {
      expect(id).toBe('upload-1');
      rec.completed = parts;
    },
  };
  return { store, rec };
}

/** `data` as a stream of chunks of `chunk` bytes. */
const chunked = (data: Buffer, chunk: number) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    })(),
  );

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('MultipartSink', () => {
  it.each([0, 1, PART - 1, PART])('a %i-byte stream (fits one part) is one put, no multipart upload', async (size) => {
    const data = randomBytes(size);
    const { store, rec } = recordingStore();
    await pipeline(chunked(data, 100), new MultipartSink({ partSize: PART, queueSize: 2, store }));
    expect(rec.puts).toHaveLength(1);
    expect(rec.puts[0]!.equals(data)).toBe(true);
    expect(rec.creates).toBe(0);
    expect(rec.completed).toBeNull();
  });

  it.each([PART + 1, 3 * PART, 10 * PART + 17])(
    'a %i-byte stream becomes ordered full parts, the bytes intact',
    async (size) => {
      const data = randomBytes(size);
      const { store, rec } = recordingStore();
      await pipeline(chunked(data, 333), new MultipartSink({ partSize: PART, queueSize: 3, store }));
      expect(rec.puts).toHaveLength(0);
      expect(rec.creates).toBe(1);
      const n = Math.ceil(size / PART);
      expect(rec.completed).toEqual(
        Array.from({ length: n }, (_, i) => ({ PartNumber: i + 1, ETag: `"etag-${i + 1}"` })),
      );
      for (let i = 1; i < n; i++) expect(rec.parts.get(i)!.length).toBe(PART);
      const joined = Buffer.concat([...rec.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b));
      expect(sha(joined)).toBe(sha(data));
    },
  );

  it('keeps at most queueSize parts in flight and reuses queueSize + 1 buffers', async () => {
    const data = randomBytes(40 * PART + 5);
    const { store, rec } = recordingStore({ delayMs: 3 });
    await pipeline(chunked(data, 4096), new MultipartSink({ partSize: PART, queueSize: 2, store }));
    expect(rec.parts.size).toBe(41);
    expect(rec.maxInFlight).toBe(2);
    expect(rec.backings.size).toBeLessThanOrEqual(3);
  });

  it('a failed part fails the pipeline with the storage error, and nothing is completed', async () => {
    const { store, rec } = recordingStore({ failPart: 3 });
    const sink = new MultipartSink({ partSize: PART, queueSize: 2, store });
    await expect(pipeline(chunked(randomBytes(8 * PART), 512), sink)).rejects.toThrow('slow down');
    await sink.settled();
    expect((sink.storageError as Error).name).toBe('SlowDown');
    expect(sink.uploadId).toBe('upload-1');
    expect(rec.completed).toBeNull();
  });

  it('a source that fails is not a storage error, and nothing is put or completed', async () => {
    const { store, rec } = recordingStore();
    const sink = new MultipartSink({ partSize: PART, queueSize: 2, store });
    const source = Readable.from(
      (function* () {
        yield randomBytes(PART / 2);
        throw new Error('MAC mismatch');
      })(),
    );
    await expect(pipeline(source, sink)).rejects.toThrow('MAC mismatch');
    expect(sink.storageError).toBeUndefined();
    expect(rec.puts).toHaveLength(0);
    expect(rec.completed).toBeNull();
  });

  it('a stream that needs more than 10,000 parts fails with a reason, and nothing is completed', async () => {
    const { store, rec } = recordingStore({ delayMs: 0 });
    const sink = new MultipartSink({ partSize: PART, queueSize: 64, store });
    await expect(pipeline(chunked(Buffer.alloc(MAX_PARTS * PART + 1), 64 * 1024), sink)).rejects.toThrow(
      'raise S3_PART_SIZE_BYTES',
    );
    await sink.settled();
    // Closed, it can start nothing more: no CompleteMultipartUpload can follow.
    if (!sink.closed) await once(sink, 'close');
    expect(rec.parts.size).toBe(MAX_PARTS);
    expect(rec.completed).toBeNull();
  });
});
