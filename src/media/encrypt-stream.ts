import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { Cipheriv as Cipher, Hash, Hmac } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAC_LENGTH } from './decrypt-stream.js';
import { MEDIA_KEY_LENGTH, deriveMediaKeys } from './media-keys.js';
import type { MediaType } from './media-type.js';

export type EncryptResult = {
  /** SHA-256 of the plaintext (the message's `fileSha256`). */
  fileSha256: Buffer;
  /** SHA-256 of the whole output, ciphertext ‖ MAC (the message's `fileEncSha256`). */
  fileEncSha256: Buffer;
  /** Plaintext length (the message's `fileLength`). */
  fileLength: number;
  /** Output length: PKCS7-padded ciphertext plus the 10-byte MAC. */
  encLength: number;
};

/**
 * Encrypts plaintext into a WhatsApp CDN file: AES-256-CBC with PKCS7 padding, followed by the
 * first 10 bytes of HMAC-SHA256(macKey, iv ‖ ciphertext). `result` is set once it has flushed.
 */
export class EncryptStream extends Transform {
  readonly #cipher: Cipher;
  readonly #hmac: Hmac;
  readonly #plainHash = createHash('sha256');
  readonly #encHash: Hash = createHash('sha256');
  #fileLength = 0;
  #encLength = 0;
  #result: EncryptResult | null = null;

  constructor(opts: { mediaKey: Buffer; type: MediaType }) {
    super();
    const { iv, cipherKey, macKey } = deriveMediaKeys(opts.mediaKey, opts.type);
    this.#cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
    this.#hmac = createHmac('sha256', macKey).update(iv);
  }

  /** The hashes and lengths for the media message; null until the stream has flushed. */
  get result(): EncryptResult | null {
    return this.#result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#fileLength += chunk.length;
    this.#plainHash.update(chunk);
    const out = this.#cipher.update(chunk);
    if (out.length > 0) {
      this.#sign(out);
      this.push(out);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const last = this.#cipher.final();
    this.#sign(last);
    const mac = this.#hmac.digest().subarray(0, MAC_LENGTH);
    this.#encHash.update(mac);
    this.#encLength += MAC_LENGTH;
    this.#result = {
      fileSha256: this.#plainHash.digest(),
      fileEncSha256: this.#encHash.digest(),
      fileLength: this.#fileLength,
      encLength: this.#encLength,
    };
    this.push(Buffer.concat([last, mac]));
    callback();
  }

  #sign(ciphertext: Buffer): void {
    this.#hmac.update(ciphertext);
    this.#encHash.update(ciphertext);
    this.#encLength += ciphertext.length;
  }
}

/** Creates an {@link EncryptStream} for a media key and type. */
export function createEncryptStream(opts: { mediaKey: Buffer; type: MediaType }): EncryptStream {
  return new EncryptStream(opts);
}

/** A fresh random 32-byte media key, as a sender generates one per media message. */
export function generateMediaKey(): Buffer {
  return randomBytes(MEDIA_KEY_LENGTH);
}

/**
 * Encrypts a whole buffer through {@link EncryptStream} (meant for tests and small media).
 * Resolves with the CDN file bytes and the message fields.
 */
export async function encryptBuffer(
  plain: Buffer,
  mediaKey: Buffer,
  type: MediaType,
): Promise<EncryptResult & { encrypted: Buffer }> {
  const stream = createEncryptStream({ mediaKey, type });
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(plain.length > 0 ? [plain] : []), stream, sink);
  const result = stream.result;
  if (!result) throw new Error('EncryptStream finished without a result.');
  return { ...result, encrypted: Buffer.concat(parts) };
}
