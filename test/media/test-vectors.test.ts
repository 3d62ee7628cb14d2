/**
 * Known-answer vectors: our own, made with the openssl command line (test/fixtures/vectors), and,
 * when their folder is present, real CDN files gathered from public WhatsApp implementations
 * (i2crm/art009 PHP, yowsup, ddz's Go tool, Baileys' old download test). Each .enc is the exact
 * CDN file (ciphertext ‖ 10-byte MAC).
 */
import { describe, expect, it } from 'vitest';
import { createDecryptVerifyStream } from '../../src/media/decrypt-stream.js';
import type { MediaType } from '../../src/media/media-type.js';
import { randomChunks, runThrough, seededRandom, sha256 } from './media-test-support.js';
import { externalVectors, loadVectors, ownVectors } from './vectors.js';
import type { Vector } from './vectors.js';

const vectors = loadVectors();

function decrypt(v: Vector, enc: Buffer, seed: number, maxChunk = 4096): Promise<Buffer> {
  const stream = createDecryptVerifyStream({
    mediaKey: v.mediaKey,
    type: v.type,
    fileSha256: v.fileSha256,
    fileEncSha256: v.fileEncSha256,
  });
  return runThrough(stream, randomChunks(enc, seededRandom(seed), maxChunk));
}

function flipped(enc: Buffer, at: number): Buffer {
  const copy = Buffer.from(enc);
  copy[at]! ^= 0x01;
  return copy;
}

describe('WhatsApp media test vectors', () => {
  it('has our own vectors for every media type', () => {
    expect(new Set(ownVectors().map((v) => v.type))).toEqual(
      new Set(['image', 'video', 'audio', 'document', 'sticker']),
    );
  });

  // Defined only where the external folder is present (externalVectors() says so once otherwise).
  const external = externalVectors();
  if (external.length > 0)
    it('has external vectors for several media types', () => {
      expect(external.length).toBeGreaterThanOrEqual(5);
      expect(new Set(external.map((v) => v.type)).size).toBeGreaterThanOrEqual(3);
    });

  describe.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    it('decrypts in small random chunks to the known plaintext', async () => {
      if (v.encLength !== null) expect(v.enc.length).toBe(v.encLength);
      const stream = createDecryptVerifyStream({
        mediaKey: v.mediaKey,
        type: v.type,
        fileSha256: v.fileSha256,
        fileEncSha256: v.fileEncSha256,
      });
      const plain = await runThrough(stream, randomChunks(v.enc, seededRandom(v.enc.length), 4096));
      if (v.plainLength !== null) expect(plain.length).toBe(v.plainLength);
      if (v.fileSha256) expect(sha256(plain).equals(v.fileSha256)).toBe(true);
      if (v.plain) expect(plain.equals(v.plain)).toBe(true);
      expect(stream.plaintextLength).toBe(plain.length);
      expect(stream.plaintextSha256?.equals(sha256(plain))).toBe(true);
      expect(stream.encryptedLength).toBe(v.enc.length);
    });

    it('decrypts with chunks of 1 to 11 bytes (every MAC split)', async () => {
      const plain = await decrypt(v, v.enc, 7, 11);
      if (v.plainLength !== null) expect(plain.length).toBe(v.plainLength);
    });

    it('verifies the MAC alone when the message carries no hashes', async () => {
      const stream = createDecryptVerifyStream({ mediaKey: v.mediaKey, type: v.type });
      const plain = await runThrough(stream, [v.enc]);
      if (v.fileSha256) expect(stream.plaintextSha256?.equals(v.fileSha256)).toBe(true);
      expect(plain.length).toBe(stream.plaintextLength);
    });

    const cipherLength = v.enc.length - 10;
    it.each([
      ['the first ciphertext byte', 0],
      ['a middle ciphertext byte', Math.floor(cipherLength / 2)],
      ['the last ciphertext byte', cipherLength - 1],
      ['the first MAC byte', cipherLength],
      ['the last MAC byte', v.enc.length - 1],
    ])('rejects a flipped bit in %s', async (_where, at) => {
      await expect(decrypt(v, flipped(v.enc, at), at)).rejects.toMatchObject({
        code: 'MEDIA_INTEGRITY_FAILED',
        message: expect.stringContaining('MAC') as string,
      });
    });

    it.each([
      ['one byte', 1],
      ['one block', 16],
      ['the MAC', 10],
      ['all but 20 bytes', v.enc.length - 20],
    ])('rejects the file truncated by %s', async (_what, cut) => {
      await expect(decrypt(v, v.enc.subarray(0, v.enc.length - cut), cut)).rejects.toMatchObject({
        code: 'MEDIA_INTEGRITY_FAILED',
      });
    });

    it('rejects the keys of another media type', async () => {
      const other: MediaType = v.type === 'document' ? 'image' : 'document';
      const stream = createDecryptVerifyStream({ mediaKey: v.mediaKey, type: other });
      await expect(runThrough(stream, [v.enc])).rejects.toMatchObject({ code: 'MEDIA_INTEGRITY_FAILED' });
    });
  });
});
