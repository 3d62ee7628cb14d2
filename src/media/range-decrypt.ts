/**
 * Decrypting a plaintext byte range without fetching the whole CDN file.
 *
 * CBC decrypts block i from ciphertext blocks i-1 and i only (block -1 being the derived IV), so
 * a range needs just its own blocks plus the one before. The MAC covers iv ‖ the whole
 * ciphertext and sits at the end of the file: a partial read can NOT be MAC-verified, nor
 * checked against fileSha256. Range responses are therefore unverified bytes.
 */
import { createDecipheriv } from 'node:crypto';
import type { Decipheriv as Decipher } from 'node:crypto';
import { DecoderTransform, type ChunkDecoder } from './chunk-decoder.js';
import { MediaIntegrityError } from '../errors.js';
import { AES_BLOCK_SIZE, MAC_LENGTH } from './decrypt-stream.js';

export type RangePlan = {
  /** First byte of the encrypted file to fetch. */
  fetchStart: number;
  /** Last byte of the encrypted file to fetch (inclusive); never reaches into the MAC. */
  fetchEndInclusive: number;
  /** True: the slice starts with the block before the first needed one, used as the IV. False: decryption starts at block 0 with the derived IV. */
  ivInSlice: boolean;
  /** Plaintext bytes to drop from the start of the first decrypted block. */
  skip: number;
  /** Plaintext bytes wanted (endInclusive - start + 1). */
  length: number;
  /** True when the slice holds the last ciphertext block, whose PKCS7 padding must be stripped. */
  isFinalBlockIncluded: boolean;
};

/**
 * Plans the encrypted slice that yields plaintext bytes [start, endInclusive] of a CDN file of
 * `encLength` bytes. `endInclusive` must be below the plaintext length (see
 * {@link plaintextLengthFromTail}); a range into the padding ends short and errors.
 */
export function planRange(start: number, endInclusive: number, encLength: number): RangePlan {
  const cipherLength = checkedCipherLength(encLength);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0) {
    throw new RangeError(`Invalid plaintext range ${start}-${endInclusive}.`);
  }
  if (endInclusive < start || endInclusive >= cipherLength) {
    throw new RangeError(`Plaintext range ${start}-${endInclusive} is outside a ${cipherLength}-byte ciphertext.`);
  }
  const firstBlock = Math.floor(start / AES_BLOCK_SIZE);
  const lastBlock = Math.floor(endInclusive / AES_BLOCK_SIZE);
  const ivInSlice = firstBlock > 0;
  return {
    fetchStart: (ivInSlice ? firstBlock - 1 : 0) * AES_BLOCK_SIZE,
    fetchEndInclusive: (lastBlock + 1) * AES_BLOCK_SIZE - 1,
    ivInSlice,
    skip: start - firstBlock * AES_BLOCK_SIZE,
    length: endInclusive - start + 1,
    isFinalBlockIncluded: (lastBlock + 1) * AES_BLOCK_SIZE === cipherLength,
  };
}

export type RangeDecryptOptions = {
  cipherKey: Buffer;
  /** The derived IV when the slice starts at block 0; null when the slice's first 16 bytes are the IV. */
  iv: Buffer | null;
  skip: number;
  length: number;
  isFinalBlockIncluded: boolean;
};

/**
 * Decrypts a slice planned by {@link planRange}, handing exactly the requested plaintext bytes
 * to `sink`. PKCS7 padding is stripped (and checked) only when the slice holds the file's last
 * block. A slice that ends early throws {@link MediaIntegrityError} from `final()`. No MAC check
 * is possible on a partial read.
 */
export class RangeDecryptor implements ChunkDecoder {
  readonly #opts: RangeDecryptOptions;
  readonly #sink: (chunk: Buffer) => void;
  readonly #end: number;
  readonly #ivBuffer = Buffer.allocUnsafe(AES_BLOCK_SIZE);
  #ivLength = 0;
  #decipher: Decipher | null = null;
  // Plaintext offset, from the start of the first decrypted block, of the next output byte.
  #position = 0;

  constructor(opts: RangeDecryptOptions, sink: (chunk: Buffer) => void) {
    this.#opts = opts;
    this.#sink = sink;
    this.#end = opts.skip + opts.length;
    if (opts.iv) this.#start(opts.iv);
  }

  update(chunk: Buffer): void {
    let data = chunk;
    let decipher = this.#decipher;
    if (!decipher) {
      const taken = data.copy(this.#ivBuffer, this.#ivLength);
      this.#ivLength += taken;
      if (this.#ivLength < AES_BLOCK_SIZE) return;
      data = data.subarray(taken);
      decipher = this.#start(this.#ivBuffer);
    }
    if (data.length > 0) this.#emit(decipher.update(data));
  }

  final(): void {
    let last: Buffer;
    try {
      if (!this.#decipher) throw new Error('no IV block');
      last = this.#decipher.final();
    } catch (cause) {
      const message = this.#opts.isFinalBlockIncluded
        ? 'The encrypted range is truncated or its final block has invalid PKCS7 padding.'
        : 'The encrypted range is truncated: it is not a whole number of 16-byte AES blocks.';
      throw new MediaIntegrityError(message, { cause });
    }
    this.#emit(last);
    if (this.#position < this.#end) {
      const got = Math.max(0, this.#position - this.#opts.skip);
      throw new MediaIntegrityError(`The encrypted range ended after ${got} of ${this.#opts.length} plaintext bytes.`);
    }
  }

  #start(iv: Buffer): Decipher {
    const decipher = createDecipheriv('aes-256-cbc', this.#opts.cipherKey, iv);
    // PKCS7 can only be checked and stripped on the file's last block.
    decipher.setAutoPadding(this.#opts.isFinalBlockIncluded);
    this.#decipher = decipher;
    return decipher;
  }

  #emit(plain: Buffer): void {
    const from = Math.max(this.#opts.skip - this.#position, 0);
    const to = Math.min(this.#end - this.#position, plain.length);
    this.#position += plain.length;
    if (to > from) this.#sink(from === 0 && to === plain.length ? plain : plain.subarray(from, to));
  }
}

/** {@link RangeDecryptor} as a Transform: write the planned slice in, read the requested plaintext out. */
export function createRangeDecryptStream(opts: RangeDecryptOptions): RangeDecryptStream {
  return new RangeDecryptStream(opts);
}

export class RangeDecryptStream extends DecoderTransform<RangeDecryptor> {
  constructor(opts: RangeDecryptOptions) {
    super((sink) => new RangeDecryptor(opts, sink));
  }
}

/** The encrypted bytes {@link plaintextLengthFromTail} needs: the last two ciphertext blocks (or the only one). */
export function planTail(encLength: number): { fetchStart: number; fetchEndInclusive: number } {
  const cipherLength = checkedCipherLength(encLength);
  return {
    fetchStart: Math.max(0, cipherLength - 2 * AES_BLOCK_SIZE),
    fetchEndInclusive: cipherLength - 1,
  };
}

/**
 * Plaintext length of a CDN file from its tail, without downloading it: decrypts the last
 * ciphertext block (with the block before it, or the derived IV for a one-block file) and reads
 * the PKCS7 pad length. `tail` is the slice given by {@link planTail}: encrypted bytes
 * [encLength-10-32, encLength-10), or [0, 16) when the ciphertext is a single block.
 * Not MAC-verified; invalid padding throws {@link MediaIntegrityError}.
 */
export function plaintextLengthFromTail(
  tail: Buffer,
  keys: { cipherKey: Buffer; iv: Buffer },
  encLength: number,
): number {
  const cipherLength = checkedCipherLength(encLength);
  const expected = Math.min(cipherLength, 2 * AES_BLOCK_SIZE);
  if (tail.length !== expected) {
    throw new RangeError(`Expected the last ${expected} ciphertext bytes, got ${tail.length}.`);
  }
  const previous = expected === AES_BLOCK_SIZE ? keys.iv : tail.subarray(0, AES_BLOCK_SIZE);
  const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, previous).setAutoPadding(false);
  const block = decipher.update(tail.subarray(expected - AES_BLOCK_SIZE));
  const pad = block[AES_BLOCK_SIZE - 1] ?? 0;
  const valid = pad >= 1 && pad <= AES_BLOCK_SIZE && block.subarray(AES_BLOCK_SIZE - pad).every((b) => b === pad);
  if (!valid) throw new MediaIntegrityError('The last block of the encrypted media has invalid PKCS7 padding.');
  return cipherLength - pad;
}

function checkedCipherLength(encLength: number): number {
  const cipherLength = encLength - MAC_LENGTH;
  if (!Number.isSafeInteger(encLength) || cipherLength < AES_BLOCK_SIZE || cipherLength % AES_BLOCK_SIZE !== 0) {
    throw new MediaIntegrityError(
      `An encrypted media file cannot be ${encLength} bytes long: it must be whole 16-byte blocks plus the 10-byte MAC.`,
    );
  }
  return cipherLength;
}
