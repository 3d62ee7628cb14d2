import { describe, expect, it } from 'vitest';
import { createDecryptVerifyStream } from '../../src/media/decrypt-stream.js';
import { encryptBuffer } from '../../src/media/encrypt-stream.js';
import { deriveMediaKeys } from '../../src/media/media-keys.js';
import {
  createRangeDecryptStream,
  planRange,
  planTail,
  plaintextLengthFromTail,
} from '../../src/media/range-decrypt.js';
import { deterministicBytes, randomChunks, randomInt, runThrough, seededRandom } from './media-test-support.js';
import { loadVectors } from './vectors.js';

const mediaKey = Buffer.alloc(32, 5);
const keys = deriveMediaKeys(mediaKey, 'video');

async function fixture(size: number) {
  const plain = deterministicBytes(size, size + 11);
  const { encrypted } = await encryptBuffer(plain, mediaKey, 'video');
  return { plain, encrypted };
}

/** Fetches only the planned slice of `encrypted` and decrypts it in random chunks. */
function decryptRange(encrypted: Buffer, start: number, end: number, seed = start, k = keys) {
  const plan = planRange(start, end, encrypted.length);
  const slice = encrypted.subarray(plan.fetchStart, plan.fetchEndInclusive + 1);
  const stream = createRangeDecryptStream({
    cipherKey: k.cipherKey,
    iv: plan.ivInSlice ? null : k.iv,
    skip: plan.skip,
    length: plan.length,
    isFinalBlockIncluded: plan.isFinalBlockIncluded,
  });
  return { plan, result: runThrough(stream, randomChunks(slice, seededRandom(seed), 37)) };
}

function rangesFor(size: number): Array<[number, number]> {
  // An empty file has no satisfiable range (the route answers 416).
  if (size === 0) return [];
  const ranges: Array<[number, number]> = [
    [0, 0],
    [0, size - 1],
    [size - 1, size - 1],
    [Math.floor(size / 2), Math.floor(size / 2)],
  ];
  if (size > 16) ranges.push([15, 16], [16, size - 1], [0, 15]);
  if (size > 40) ranges.push([10, 40], [31, 32], [32, 47]);
  const random = seededRandom(size);
  for (let i = 0; i < 12; i++) {
    const a = randomInt(random, 0, size - 1);
    const b = randomInt(random, 0, size - 1);
    ranges.push([Math.min(a, b), Math.max(a, b)]);
  }
  return ranges;
}

describe('range decryption', () => {
  it.each([1, 15, 16, 17, 31, 32, 33, 100, 4101, 70_000])(
    'yields exactly the plaintext slice (%i bytes)',
    async (size) => {
      const { plain, encrypted } = await fixture(size);
      for (const [start, end] of rangesFor(size)) {
        const { plan, result } = decryptRange(encrypted, start, end);
        const out = await result;
        expect(out.equals(plain.subarray(start, end + 1)), `${start}-${end} of ${size}`).toBe(true);
        // Never fetches more than the needed blocks, one IV block, and never the MAC.
        const blocks = Math.floor(end / 16) - Math.floor(start / 16) + 1;
        expect(plan.fetchEndInclusive - plan.fetchStart + 1).toBe((blocks + (plan.ivInSlice ? 1 : 0)) * 16);
        expect(plan.fetchEndInclusive).toBeLessThan(encrypted.length - 10);
      }
    },
  );

  it('plans the first block with the derived IV and later blocks with the previous block', () => {
    expect(planRange(0, 20, 58)).toEqual({
      fetchStart: 0,
      fetchEndInclusive: 31,
      ivInSlice: false,
      skip: 0,
      length: 21,
      isFinalBlockIncluded: false,
    });
    expect(planRange(40, 47, 58)).toEqual({
      fetchStart: 16,
      fetchEndInclusive: 47,
      ivInSlice: true,
      skip: 8,
      length: 8,
      isFinalBlockIncluded: true,
    });
  });

  it('rejects ranges outside the ciphertext and impossible file lengths', () => {
    expect(() => planRange(5, 4, 58)).toThrow(RangeError);
    expect(() => planRange(0, 48, 58)).toThrow(RangeError);
    expect(() => planRange(-1, 3, 58)).toThrow(RangeError);
    expect(() => planRange(0, 0, 57)).toThrow(expect.objectContaining({ code: 'MEDIA_INTEGRITY_FAILED' }));
  });

  it('rejects a truncated slice', async () => {
    const { encrypted } = await fixture(1000);
    const plan = planRange(100, 600, encrypted.length);
    const stream = createRangeDecryptStream({ ...plan, cipherKey: keys.cipherKey, iv: null });
    const short = encrypted.subarray(plan.fetchStart, plan.fetchEndInclusive - 20);
    await expect(runThrough(stream, [short])).rejects.toMatchObject({ code: 'MEDIA_INTEGRITY_FAILED' });
    const aligned = createRangeDecryptStream({ ...plan, cipherKey: keys.cipherKey, iv: null });
    const wholeBlocks = encrypted.subarray(plan.fetchStart, plan.fetchEndInclusive + 1 - 32);
    await expect(runThrough(aligned, [wholeBlocks])).rejects.toThrow(/ended after/);
  });
});

describe.each(loadVectors().map((v) => [v.id, v] as const))('range decryption of vector %s', (_id, v) => {
  const vectorKeys = deriveMediaKeys(v.mediaKey, v.type);

  it('matches the fully verified plaintext and reads the length from the tail', async () => {
    const plain = await runThrough(createDecryptVerifyStream({ mediaKey: v.mediaKey, type: v.type }), [v.enc]);
    for (const [start, end] of rangesFor(plain.length)) {
      const out = await decryptRange(v.enc, start, end, start, vectorKeys).result;
      expect(out.equals(plain.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    const { fetchStart, fetchEndInclusive } = planTail(v.enc.length);
    const tail = v.enc.subarray(fetchStart, fetchEndInclusive + 1);
    expect(plaintextLengthFromTail(tail, vectorKeys, v.enc.length)).toBe(plain.length);
  });
});

describe('plaintextLengthFromTail', () => {
  it.each([0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 1000, 4096])('reads %i from the last blocks', async (size) => {
    const { encrypted } = await fixture(size);
    const { fetchStart, fetchEndInclusive } = planTail(encrypted.length);
    const tail = encrypted.subarray(fetchStart, fetchEndInclusive + 1);
    expect(plaintextLengthFromTail(tail, keys, encrypted.length)).toBe(size);
  });

  it('rejects a tail whose padding does not decrypt', async () => {
    const { encrypted } = await fixture(100);
    const { fetchStart, fetchEndInclusive } = planTail(encrypted.length);
    const tail = Buffer.from(encrypted.subarray(fetchStart, fetchEndInclusive + 1));
    tail[31]! ^= 0xff;
    expect(() => plaintextLengthFromTail(tail, keys, encrypted.length)).toThrow(/padding/);
    expect(() => plaintextLengthFromTail(tail.subarray(1), keys, encrypted.length)).toThrow(RangeError);
  });
});
