import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MediaIntegrityError } from '../../src/errors.js';
import { createDecryptVerifyStream } from '../../src/media/decrypt-stream.js';
import { createEncryptStream, encryptBuffer, generateMediaKey } from '../../src/media/encrypt-stream.js';
import { deriveMediaKeys } from '../../src/media/media-keys.js';
import { deterministicBytes, randomChunks, runThrough, seededRandom, sha256 } from './media-test-support.js';

const mediaKey = Buffer.alloc(32, 9);

async function roundTrip(plain: Buffer, chunks: (enc: Buffer) => Buffer[]) {
  const enc = await encryptBuffer(plain, mediaKey, 'document');
  const stream = createDecryptVerifyStream({
    mediaKey,
    type: 'document',
    fileSha256: enc.fileSha256,
    fileEncSha256: enc.fileEncSha256,
  });
  return { out: await runThrough(stream, chunks(enc.encrypted)), stream };
}

/** A CDN file whose MAC is valid for whatever ciphertext we hand it. */
function signed(ciphertext: Buffer): Buffer {
  const { iv, macKey } = deriveMediaKeys(mediaKey, 'document');
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, 10);
  return Buffer.concat([ciphertext, mac]);
}

function decrypt(file: Buffer, hashes: { fileSha256?: Buffer; fileEncSha256?: Buffer } = {}) {
  return runThrough(createDecryptVerifyStream({ mediaKey, type: 'document', ...hashes }), [file]);
}

describe('createEncryptStream', () => {
  it.each([0, 1, 15, 16, 17, 1000])('reports WhatsApp message fields for %i bytes', async (size) => {
    const plain = deterministicBytes(size, size);
    const enc = await encryptBuffer(plain, mediaKey, 'image');
    expect(enc.fileLength).toBe(size);
    expect(enc.encLength).toBe((Math.floor(size / 16) + 1) * 16 + 10);
    expect(enc.encrypted.length).toBe(enc.encLength);
    expect(enc.fileSha256.equals(sha256(plain))).toBe(true);
    expect(enc.fileEncSha256.equals(sha256(enc.encrypted))).toBe(true);
  });

  it('has no result before it finishes, and makes fresh 32-byte keys', () => {
    expect(createEncryptStream({ mediaKey, type: 'audio' }).result).toBeNull();
    const a = generateMediaKey();
    expect(a.length).toBe(32);
    expect(a.equals(generateMediaKey())).toBe(false);
  });
});

describe('createDecryptVerifyStream', () => {
  it('round-trips every size 0..80 at every single split point', async () => {
    for (let size = 0; size <= 80; size++) {
      const plain = deterministicBytes(size, 1000 + size);
      const encLength = (Math.floor(size / 16) + 1) * 16 + 10;
      for (let cut = 0; cut <= encLength; cut++) {
        const { out } = await roundTrip(plain, (e) => [e.subarray(0, cut), e.subarray(cut)]);
        expect(out.equals(plain)).toBe(true);
      }
    }
  });

  it('round-trips in 1-byte chunks and in random chunks', async () => {
    const plain = deterministicBytes(5000, 3);
    const bytewise = await roundTrip(plain, (e) => randomChunks(e, seededRandom(1), 1));
    expect(bytewise.out.equals(plain)).toBe(true);
    for (let seed = 0; seed < 20; seed++) {
      const { out, stream } = await roundTrip(plain, (e) => randomChunks(e, seededRandom(seed), 64));
      expect(out.equals(plain)).toBe(true);
      expect(stream.plaintextLength).toBe(5000);
      expect(stream.plaintextSha256?.equals(sha256(plain))).toBe(true);
    }
  });

  it('round-trips large chunks, which are decrypted in slices', async () => {
    const plain = deterministicBytes(3 * 1024 * 1024 + 5, 4);
    const whole = await roundTrip(plain, (e) => [e]);
    expect(whole.out.equals(plain)).toBe(true);
    const big = await roundTrip(plain, (e) => randomChunks(e, seededRandom(2), 400_000));
    expect(big.out.equals(plain)).toBe(true);
    expect(big.stream.plaintextSha256?.equals(sha256(plain))).toBe(true);
  });

  it('rejects a wrong fileSha256, naming it', async () => {
    const enc = await encryptBuffer(Buffer.from('hello'), mediaKey, 'document');
    await expect(decrypt(enc.encrypted, { fileSha256: Buffer.alloc(32) })).rejects.toThrow(/fileSha256/);
  });

  it('rejects a wrong fileEncSha256, naming it', async () => {
    const enc = await encryptBuffer(Buffer.from('hello'), mediaKey, 'document');
    await expect(decrypt(enc.encrypted, { fileEncSha256: Buffer.alloc(32) })).rejects.toThrow(/fileEncSha256/);
  });

  it('treats empty hashes as absent', async () => {
    const enc = await encryptBuffer(Buffer.from('hello'), mediaKey, 'document');
    const out = await decrypt(enc.encrypted, { fileSha256: Buffer.alloc(0), fileEncSha256: Buffer.alloc(0) });
    expect(out.toString()).toBe('hello');
  });

  it('rejects bad PKCS7 padding even under a valid MAC', async () => {
    const { iv, cipherKey } = deriveMediaKeys(mediaKey, 'document');
    const cipher = createCipheriv('aes-256-cbc', cipherKey, iv).setAutoPadding(false);
    const block = Buffer.alloc(16, 0x11); // last byte 0x11 = 17: not a valid pad length
    const file = signed(Buffer.concat([cipher.update(block), cipher.final()]));
    await expect(decrypt(file)).rejects.toThrow(/padding/);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['MAC only', Buffer.alloc(10)],
    ['25 bytes', Buffer.alloc(25)],
  ])('rejects a %s file as truncated', async (_name, file) => {
    const err = await decrypt(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaIntegrityError);
    expect((err as MediaIntegrityError).message).toMatch(/truncated/);
    expect((err as MediaIntegrityError).statusCode).toBe(502);
  });

  it('rejects a ciphertext that is not whole blocks as truncated, before the MAC', async () => {
    await expect(decrypt(signed(Buffer.alloc(20)))).rejects.toThrow(/truncated/);
  });

  it('rejects a media key of the wrong length', () => {
    expect(() => createDecryptVerifyStream({ mediaKey: Buffer.alloc(31), type: 'image' })).toThrow(MediaIntegrityError);
  });

  it('pushes nothing after a failed check, and no hash', async () => {
    const enc = await encryptBuffer(deterministicBytes(40, 1), mediaKey, 'document');
    const stream = createDecryptVerifyStream({ mediaKey, type: 'document', fileSha256: Buffer.alloc(32) });
    const pushed: Buffer[] = [];
    stream.on('data', (c: Buffer) => pushed.push(c));
    stream.end(enc.encrypted);
    await expect(new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject))).rejects.toThrow();
    // Only blocks before the held-back final one were pushed; the padded last block was not.
    expect(Buffer.concat(pushed).length).toBeLessThan(40);
    expect(stream.plaintextSha256).toBeNull();
  });

  it.each([16 * 4096, 3 * 1024 * 1024])(
    'holds back the last bytes of a %i-byte (block-aligned) plaintext until the MAC checks out',
    async (size) => {
      // With a whole number of blocks, decipher.final() yields nothing: every real byte comes out
      // of update(), so a reader must not get them all before the MAC fails.
      const enc = await encryptBuffer(deterministicBytes(size, 3), mediaKey, 'document');
      const tampered = Buffer.from(enc.encrypted);
      tampered[tampered.length - 1]! ^= 0x01; // the MAC's last byte
      const stream = createDecryptVerifyStream({ mediaKey, type: 'document' });
      let pushed = 0;
      stream.on('data', (c: Buffer) => (pushed += c.length));
      for (let i = 0; i < tampered.length; i += 64 * 1024) stream.write(tampered.subarray(i, i + 64 * 1024));
      stream.end();
      await expect(new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject))).rejects.toThrow(
        MediaIntegrityError,
      );
      expect(pushed).toBeGreaterThan(0);
      expect(pushed).toBeLessThan(size);
    },
  );
});
