/**
 * The media file every measurement uses, and the "ceiling": AES-256-CBC decrypt + HMAC-SHA256
 * + plaintext SHA-256 of that file in a plain loop over 1 MiB chunks read from disk, no streams
 * at all. The file has just been written, so reads come from the page cache, as the CDN
 * process's do: the ceiling is the crypto cost plus one memory copy per chunk.
 */
import { closeSync, createWriteStream, openSync, readSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAC_LENGTH } from '../src/media/decrypt-stream.js';
import { createEncryptStream, generateMediaKey } from '../src/media/encrypt-stream.js';
import { deriveMediaKeys } from '../src/media/media-keys.js';
import type { MediaType } from '../src/media/media-type.js';

const MiB = 1024 * 1024;

export interface EncryptedMediaFile {
  path: string;
  mediaKey: Buffer;
  type: MediaType;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
  plainLength: number;
  /** Ciphertext ‖ 10-byte MAC. */
  encLength: number;
}

/**
 * Encrypts `sizeBytes` of incompressible plaintext (an AES-CTR keystream) as WhatsApp does,
 * streaming it into `path`: nothing the size of the file is ever held in memory.
 */
export async function writeEncryptedMedia(path: string, sizeBytes: number, type: MediaType = 'video'): Promise<EncryptedMediaFile> {
  const mediaKey = generateMediaKey();
  const keystream = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(MiB);
  function* plaintext() {
    for (let left = sizeBytes; left > 0; left -= MiB) yield keystream.update(left >= MiB ? zeros : zeros.subarray(0, left));
  }
  const encrypt = createEncryptStream({ mediaKey, type });
  await pipeline(Readable.from(plaintext()), encrypt, createWriteStream(path));
  const r = encrypt.result!;
  return { path, mediaKey, type, fileSha256: r.fileSha256, fileEncSha256: r.fileEncSha256, plainLength: r.fileLength, encLength: r.encLength };
}

/**
 * One decrypt + HMAC + SHA-256 pass over the file; throws when the MAC or the plaintext hash is
 * wrong. With `encSha256` it also hashes the encrypted file (the `fileEncSha256` check, which
 * the server does when the message carries that hash). Returns the seconds it took.
 */
export function ceilingPass(media: EncryptedMediaFile, opts: { chunkSize?: number; encSha256?: boolean } = {}): number {
  const started = performance.now();
  const chunkSize = opts.chunkSize ?? MiB;
  const { iv, cipherKey, macKey } = deriveMediaKeys(media.mediaKey, media.type);
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const hmac = createHmac('sha256', macKey).update(iv);
  const hash = createHash('sha256');
  const encHash = opts.encSha256 ? createHash('sha256') : null;
  const cipherLength = media.encLength - MAC_LENGTH;
  const buffer = Buffer.allocUnsafe(chunkSize);
  const mac = Buffer.alloc(MAC_LENGTH);
  const fd = openSync(media.path, 'r');
  try {
    for (let pos = 0; pos < cipherLength; ) {
      const n = readSync(fd, buffer, 0, Math.min(chunkSize, cipherLength - pos), pos);
      if (n === 0) throw new Error('The media file is shorter than expected.');
      const chunk = buffer.subarray(0, n);
      hmac.update(chunk);
      encHash?.update(chunk);
      hash.update(decipher.update(chunk));
      pos += n;
    }
    readSync(fd, mac, 0, MAC_LENGTH, cipherLength);
  } finally {
    closeSync(fd);
  }
  hash.update(decipher.final());
  if (!timingSafeEqual(hmac.digest().subarray(0, MAC_LENGTH), mac)) throw new Error('MAC mismatch');
  if (!hash.digest().equals(media.fileSha256)) throw new Error('SHA-256 mismatch');
  if (encHash && !encHash.update(mac).digest().equals(media.fileEncSha256)) throw new Error('encrypted SHA-256 mismatch');
  return (performance.now() - started) / 1000;
}
