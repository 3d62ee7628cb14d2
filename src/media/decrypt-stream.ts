import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Decipheriv as Decipher, Hash, Hmac } from 'node:crypto';
import { DecoderTransform, type ChunkDecoder } from './chunk-decoder.js';
import { MediaIntegrityError } from '../errors.js';
import { deriveMediaKeys } from './media-keys.js';
import { noteBytesMoved } from './scavenge-pacer.js';
import type { MediaType } from './media-type.js';

/** The CDN file ends with the first 10 bytes of HMAC-SHA256(macKey, iv ‖ ciphertext). */
export const MAC_LENGTH = 10;
/** AES block size; the ciphertext is PKCS7-padded to a multiple of it (so never empty). */
export const AES_BLOCK_SIZE = 16;

// Below this size a small decrypted head (≤ 32 bytes) is merged into the chunk's output with
// one cheap copy; above it the head is pushed on its own, which costs less than copying.
const COALESCE_LIMIT = 4096;
// Work unit for large chunks: small enough to stay in cache across the HMAC, cipher and hashes.
const SLICE_SIZE = 64 * 1024;

export type DecryptVerifyOptions = {
  mediaKey: Buffer;
  type: MediaType;
  /** SHA-256 of the plaintext from the message; null, undefined or empty skips the check. */
  fileSha256?: Buffer | null;
  /** SHA-256 of the whole CDN file from the message; null, undefined or empty skips it. */
  fileEncSha256?: Buffer | null;
};

/**
 * Decrypts a WhatsApp CDN file (AES-256-CBC/PKCS7 ciphertext ‖ 10-byte MAC) as it streams,
 * handing plaintext to `sink` as soon as the next chunk is decrypted (the newest one waits, so
 * the last bytes only come out after the checks). The MAC sits at the end of the file, so every
 * check happens in `final()`: a failure there throws after plaintext was already handed on,
 * and consumers must treat the output as untrusted until then.
 */
export class MediaDecryptor implements ChunkDecoder {
  readonly #sink: (chunk: Buffer) => void;
  readonly #decipher: Decipher;
  readonly #hmac: Hmac;
  readonly #plainHash: Hash;
  readonly #encHash: Hash | null;
  readonly #fileSha256: Buffer | null;
  readonly #fileEncSha256: Buffer | null;
  // The last 10 bytes seen so far: the MAC if the file ends here. Only this is held back.
  readonly #tail = Buffer.allocUnsafe(MAC_LENGTH);
  #tailLength = 0;
  #encLength = 0;
  #plaintextLength = 0;
  #plaintextSha256: Buffer | null = null;
  // The newest plaintext chunk, handed on only once a later one (or the verified end) comes: for
  // a plaintext that is a multiple of 16 bytes, decipher.final() yields nothing, so without this
  // a reader could receive every byte it expects before the MAC check fails.
  #held: Buffer | null = null;

  constructor(opts: DecryptVerifyOptions, sink: (chunk: Buffer) => void) {
    const { iv, cipherKey, macKey } = deriveMediaKeys(opts.mediaKey, opts.type);
    this.#sink = sink;
    this.#decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
    this.#hmac = createHmac('sha256', macKey).update(iv);
    this.#plainHash = createHash('sha256');
    this.#fileSha256 = nonEmpty(opts.fileSha256);
    this.#fileEncSha256 = nonEmpty(opts.fileEncSha256);
    this.#encHash = this.#fileEncSha256 ? createHash('sha256') : null;
  }

  /** SHA-256 of the plaintext, set once the input has ended and every check passed. */
  get plaintextSha256(): Buffer | null {
    return this.#plaintextSha256;
  }

  /** Plaintext bytes decrypted so far (the full length once finished). */
  get plaintextLength(): number {
    return this.#plaintextLength;
  }

  /** Encrypted bytes (ciphertext and MAC) received so far. */
  get encryptedLength(): number {
    return this.#encLength;
  }

  update(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    noteBytesMoved(n);
    this.#encLength += n;
    const tail = this.#tail;
    const t = this.#tailLength;
    if (t + n <= MAC_LENGTH) {
      this.#encHash?.update(chunk);
      chunk.copy(tail, t);
      this.#tailLength = t + n;
      return;
    }
    // t + n - 10 bytes are now known to be ciphertext: first the oldest held-back bytes,
    // then the chunk up to its own last 10 bytes. Both are consumed before `tail` is rewritten.
    const fromTail = Math.min(t, t + n - MAC_LENGTH);
    let head = fromTail > 0 ? this.#decrypt(tail.subarray(0, fromTail)) : undefined;
    const bodyLength = Math.max(0, n - MAC_LENGTH);
    // Large chunks go through in slices so each slice is still in cache for the HMAC, the
    // cipher and both hashes, instead of streaming the whole chunk from memory four times.
    for (let offset = 0; offset < bodyLength;) {
      const end = Math.min(bodyLength, offset + SLICE_SIZE);
      const slice = chunk.subarray(offset, end);
      this.#encHash?.update(slice);
      this.#pushPair(head, this.#decrypt(slice));
      head = undefined;
      offset = end;
    }
    this.#encHash?.update(chunk.subarray(bodyLength));
    if (n >= MAC_LENGTH) {
      chunk.copy(tail, 0, n - MAC_LENGTH);
    } else {
      tail.copyWithin(0, fromTail, t);
      chunk.copy(tail, t - fromTail);
    }
    this.#tailLength = MAC_LENGTH;
    this.#pushPair(head, undefined);
  }

  /** The end of the file: runs every check, then hands on the last plaintext bytes; throws {@link MediaIntegrityError}. */
  final(): void {
    const last = this.#verify();
    if (last instanceof Error) throw last;
    const held = this.#held;
    this.#held = null;
    if (held) this.#sink(held);
    if (last.length > 0) this.#sink(last);
  }

  /** Runs the end-of-file checks; returns the last plaintext bytes, or the error. */
  #verify(): Buffer | MediaIntegrityError {
    const encLength = this.#encLength;
    if (encLength < AES_BLOCK_SIZE + MAC_LENGTH) {
      return new MediaIntegrityError(
        `The encrypted media is truncated: ${encLength} bytes is shorter than one AES block plus the 10-byte MAC.`,
      );
    }
    const cipherLength = encLength - MAC_LENGTH;
    if (cipherLength % AES_BLOCK_SIZE !== 0) {
      return new MediaIntegrityError(
        `The encrypted media is truncated: its ${cipherLength}-byte ciphertext is not a whole number of 16-byte AES blocks.`,
      );
    }
    const mac = this.#hmac.digest().subarray(0, MAC_LENGTH);
    if (!timingSafeEqual(mac, this.#tail)) {
      return new MediaIntegrityError(
        'The media MAC check failed: the encrypted file is corrupt or does not belong to this media key.',
      );
    }
    let last: Buffer;
    try {
      last = this.#decipher.final();
    } catch (cause) {
      return new MediaIntegrityError('The decrypted media has invalid PKCS7 padding.', { cause });
    }
    this.#plainHash.update(last);
    const sha = this.#plainHash.digest();
    if (this.#fileSha256 && !sha.equals(this.#fileSha256)) {
      return new MediaIntegrityError("The SHA-256 of the decrypted media does not match the message's fileSha256.");
    }
    if (this.#encHash && this.#fileEncSha256 && !this.#encHash.digest().equals(this.#fileEncSha256)) {
      return new MediaIntegrityError("The SHA-256 of the encrypted file does not match the message's fileEncSha256.");
    }
    this.#plaintextLength += last.length;
    this.#plaintextSha256 = sha;
    return last;
  }

  #decrypt(ciphertext: Buffer): Buffer {
    this.#hmac.update(ciphertext);
    const plain = this.#decipher.update(ciphertext);
    if (plain.length > 0) {
      this.#plainHash.update(plain);
      this.#plaintextLength += plain.length;
    }
    return plain;
  }

  #pushPair(head: Buffer | undefined, body: Buffer | undefined): void {
    const a = head && head.length > 0 ? head : undefined;
    const b = body && body.length > 0 ? body : undefined;
    if (a && b) {
      if (b.length < COALESCE_LIMIT) {
        this.#emit(Buffer.concat([a, b], a.length + b.length));
      } else {
        this.#emit(a);
        this.#emit(b);
      }
    } else if (a ?? b) {
      this.#emit((a ?? b)!);
    }
  }

  /** Hands on the chunk held so far and holds `chunk` instead. */
  #emit(chunk: Buffer): void {
    const previous = this.#held;
    this.#held = chunk;
    if (previous) this.#sink(previous);
  }
}

/**
 * {@link MediaDecryptor} as a Transform: write the exact CDN file bytes in, read plaintext out;
 * every check happens in `_flush`, so a failure errors the stream after plaintext was already
 * pushed, and consumers must treat the output as untrusted until `'finish'`/`'end'`.
 */
export class DecryptVerifyStream extends DecoderTransform<MediaDecryptor> {
  constructor(opts: DecryptVerifyOptions) {
    super((sink) => new MediaDecryptor(opts, sink));
  }

  /** SHA-256 of the plaintext, set once the stream has finished and every check passed. */
  get plaintextSha256(): Buffer | null {
    return this.decoder.plaintextSha256;
  }

  /** Plaintext bytes decrypted so far (the full length once finished). */
  get plaintextLength(): number {
    return this.decoder.plaintextLength;
  }

  /** Encrypted bytes (ciphertext and MAC) received so far. */
  get encryptedLength(): number {
    return this.decoder.encryptedLength;
  }
}

/**
 * Creates a {@link DecryptVerifyStream}: write the exact CDN file bytes in, read plaintext out.
 * Errors with {@link MediaIntegrityError} (code `MEDIA_INTEGRITY_FAILED`) when the file is
 * truncated, the MAC or padding is wrong, or a given hash does not match.
 */
export function createDecryptVerifyStream(opts: DecryptVerifyOptions): DecryptVerifyStream {
  return new DecryptVerifyStream(opts);
}

function nonEmpty(value: Buffer | null | undefined): Buffer | null {
  return value && value.length > 0 ? value : null;
}
