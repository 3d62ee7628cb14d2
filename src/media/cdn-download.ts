import type { Readable } from 'node:stream';
import { RangeNotSatisfiableError } from '../errors.js';
import type { CdnClient, CdnMediaRef, CdnProgress } from './cdn-client.js';
import { AES_BLOCK_SIZE, MAC_LENGTH, MediaDecryptor } from './decrypt-stream.js';
import { parseRangeHeader, resolveRange, type RangeRequest } from './http-range.js';
import { deriveMediaKeys } from './media-keys.js';
import type { MediaType } from './media-type.js';
import {
  planRange,
  planTail,
  plaintextLengthFromTail,
  RangeDecryptor,
  type RangeDecryptOptions,
} from './range-decrypt.js';

/** What a download needs to know about one media file. */
export interface MediaFile {
  ref: CdnMediaRef;
  type: MediaType;
  mediaKey: Buffer;
  /** Plaintext size the message declares (may be absent or wrong). */
  fileLength: number | null;
  fileSha256: Buffer | null;
  fileEncSha256: Buffer | null;
}

export interface PlainStream {
  status: 200 | 206;
  /** Plaintext bytes the body will carry, when known. */
  contentLength: number | null;
  /** `bytes a-b/size` for a 206. */
  contentRange: string | null;
  body: Readable;
  /** Resolves when a whole-file body ended verified; null for a slice or a body that did not end. */
  verified: Promise<Verified | null>;
  /** The CDN body it decrypts (bytes received and resumes so far, through a proxy or not); null for a bucket read. */
  source: { progress: CdnProgress; throughProxy: boolean } | null;
}

/** What a whole CDN file proved once it ended: its MAC (and its hash, when claimed) checked. */
export interface Verified {
  /** SHA-256 of the plaintext, hex. */
  sha256: string;
  /** Plaintext bytes the body carried. */
  length: number;
}

/** CDN file size for a plaintext of `n` bytes: PKCS7 always pads, then the MAC. */
export const encLengthFor = (n: number) => (Math.floor(n / AES_BLOCK_SIZE) + 1) * AES_BLOCK_SIZE + MAC_LENGTH;

/**
 * Opens the decrypted plaintext of a CDN file: the whole file, MAC- and hash-verified as it
 * streams, or (with a `Range` header) just the CBC blocks a slice needs, which cannot be
 * MAC-verified. Resolves once the CDN answered, so early failures surface as errors.
 */
export async function openPlaintextFromCdn(
  cdn: CdnClient,
  file: MediaFile,
  rangeHeader: string | undefined,
  signal: AbortSignal,
): Promise<PlainStream> {
  const range = parseRangeHeader(rangeHeader);
  if (range.kind !== 'none') return openRange(cdn, file, range, signal);

  let decryptor: MediaDecryptor | null = null;
  // Decrypted in the CDN stream itself: an error anywhere (CDN cut for good, MAC mismatch) errors it.
  const cdnBody = await cdn.open(file.ref, {
    signal,
    decode: (sink) =>
      (decryptor = new MediaDecryptor(
        { mediaKey: file.mediaKey, type: file.type, fileSha256: file.fileSha256, fileEncSha256: file.fileEncSha256 },
        sink,
      )),
  });
  const decrypt = cdnBody.stream;
  const verified = new Promise<Verified | null>((resolve) => {
    decrypt.once('end', () => {
      const sha = decryptor?.plaintextSha256;
      resolve(sha ? { sha256: sha.toString('hex'), length: decryptor!.plaintextLength } : null);
    });
    decrypt.once('close', () => resolve(null));
  });
  // Trust the declared length only when it fits the CDN file's size exactly.
  const declaredFits = file.fileLength !== null && cdnBody.totalSize === encLengthFor(file.fileLength);
  return {
    status: 200,
    contentLength: declaredFits ? file.fileLength : null,
    contentRange: null,
    body: decrypt,
    verified,
    source: cdnBody,
  };
}

async function openRange(
  cdn: CdnClient,
  file: MediaFile,
  range: Exclude<RangeRequest, { kind: 'none' }>,
  signal: AbortSignal,
): Promise<PlainStream> {
  const keys = deriveMediaKeys(file.mediaKey, file.type);
  let encLength = file.fileLength !== null ? encLengthFor(file.fileLength) : await probeSize(cdn, file.ref, signal);
  let size = file.fileLength ?? (await tailLength(cdn, file.ref, keys, encLength, signal));
  // Two rounds at most: if the CDN file is not the size the declared length implies, learn
  // the true plaintext size from the file's tail and plan again.
  for (let round = 0; ; round++) {
    const r = resolveRange(range, size);
    if (!r) throw new RangeNotSatisfiableError(size);
    const plan = planRange(r.start, r.end, encLength);
    const opts: RangeDecryptOptions = {
      cipherKey: keys.cipherKey,
      iv: plan.ivInSlice ? null : keys.iv,
      skip: plan.skip,
      length: plan.length,
      isFinalBlockIncluded: plan.isFinalBlockIncluded,
    };
    const cdnBody = await cdn.open(file.ref, {
      start: plan.fetchStart,
      end: plan.fetchEndInclusive,
      signal,
      decode: (sink) => new RangeDecryptor(opts, sink),
    });
    if (cdnBody.totalSize !== null && cdnBody.totalSize !== encLength && round === 0) {
      cdnBody.stream.destroy();
      encLength = cdnBody.totalSize;
      size = await tailLength(cdn, file.ref, keys, encLength, signal);
      continue;
    }
    const decrypt = cdnBody.stream;
    return {
      status: 206,
      contentLength: r.end - r.start + 1,
      contentRange: `bytes ${r.start}-${r.end}/${size}`,
      body: decrypt,
      verified: Promise.resolve(null),
      source: cdnBody,
    };
  }
}

/** The CDN file's size, from a one-byte range request. */
async function probeSize(cdn: CdnClient, ref: CdnMediaRef, signal: AbortSignal): Promise<number> {
  const b = await cdn.open(ref, { start: 0, end: 0, signal });
  b.stream.destroy();
  if (b.totalSize === null) throw new RangeNotSatisfiableError(0);
  return b.totalSize;
}

async function tailLength(
  cdn: CdnClient,
  ref: CdnMediaRef,
  keys: { cipherKey: Buffer; iv: Buffer },
  encLength: number,
  signal: AbortSignal,
) {
  const t = planTail(encLength);
  const b = await cdn.open(ref, { start: t.fetchStart, end: t.fetchEndInclusive, signal });
  const chunks: Buffer[] = [];
  for await (const c of b.stream) chunks.push(c as Buffer);
  return plaintextLengthFromTail(Buffer.concat(chunks), keys, encLength);
}
