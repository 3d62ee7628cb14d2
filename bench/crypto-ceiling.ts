/**
 * The "ceiling" for media decryption: AES-256-CBC decrypt + HMAC-SHA256 + plaintext SHA-256 of
 * an in-memory CDN file in a plain loop over 1 MiB chunks, with no streams at all. Streaming
 * decrypt/verify is measured against this figure.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { deriveMediaKeys } from '../src/media/media-keys.js';
import type { MediaType } from '../src/media/media-type.js';

const MiB = 1024 * 1024;
const MAC_LENGTH = 10;

export type PreparedMedia = {
  mediaKey: Buffer;
  type: MediaType;
  /** The CDN file: ciphertext ‖ 10-byte MAC. */
  encrypted: Buffer;
  fileSha256: Buffer;
  plainLength: number;
};

/** Deterministic plaintext (an AES-CTR keystream: cheap and incompressible) encrypted as WhatsApp does. */
export function prepareEncryptedMedia(sizeBytes: number, type: MediaType = 'video'): PreparedMedia {
  const mediaKey = Buffer.alloc(32, 7);
  const { iv, cipherKey, macKey } = deriveMediaKeys(mediaKey, type);
  const plain = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 2)).update(
    Buffer.alloc(sizeBytes),
  );
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(ciphertext).digest().subarray(0, MAC_LENGTH);
  return {
    mediaKey,
    type,
    encrypted: Buffer.concat([ciphertext, mac]),
    fileSha256: createHash('sha256').update(plain).digest(),
    plainLength: sizeBytes,
  };
}

/** One decrypt + HMAC + SHA-256 pass; throws when the MAC or the plaintext hash is wrong. */
export function ceilingPass(media: PreparedMedia, chunkSize = MiB): void {
  const { iv, cipherKey, macKey } = deriveMediaKeys(media.mediaKey, media.type);
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const hmac = createHmac('sha256', macKey).update(iv);
  const hash = createHash('sha256');
  const cipherLength = media.encrypted.length - MAC_LENGTH;
  for (let offset = 0; offset < cipherLength; offset += chunkSize) {
    const chunk = media.encrypted.subarray(offset, Math.min(offset + chunkSize, cipherLength));
    hmac.update(chunk);
    hash.update(decipher.update(chunk));
  }
  hash.update(decipher.final());
  const mac = hmac.digest().subarray(0, MAC_LENGTH);
  if (!timingSafeEqual(mac, media.encrypted.subarray(cipherLength))) throw new Error('MAC mismatch');
  if (!hash.digest().equals(media.fileSha256)) throw new Error('SHA-256 mismatch');
}

/**
 * Measures the ceiling on `sizeBytes` of media (best of `runs` passes after a warm-up), in MiB
 * of ciphertext per second. Pass `media` to measure on bytes that were already prepared;
 * `chunkSize` defaults to 1 MiB.
 */
export async function measureCeiling(
  sizeBytes: number,
  opts: { media?: PreparedMedia; runs?: number; chunkSize?: number } = {},
): Promise<{ mibPerSec: number }> {
  const media = opts.media ?? prepareEncryptedMedia(sizeBytes);
  ceilingPass(prepareEncryptedMedia(8 * MiB), opts.chunkSize);
  let best = Infinity;
  for (let run = 0; run < (opts.runs ?? 3); run++) {
    const started = performance.now();
    ceilingPass(media, opts.chunkSize);
    best = Math.min(best, (performance.now() - started) / 1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { mibPerSec: media.encrypted.length / MiB / best };
}
