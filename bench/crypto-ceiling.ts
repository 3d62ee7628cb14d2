/**
 * The media file every measurement uses, and the "ceiling" run on it (ceiling-child.ts):
 * AES-256-CBC decrypt + HMAC-SHA256 + plaintext SHA-256 in a plain loop over 64 KiB chunks read
 * from disk, no streams at all. The file has just been written, so reads come from the page
 * cache, as the CDN process's do: the ceiling is the crypto cost plus one memory copy per chunk.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createCipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CeilingJob, CeilingResult } from './ceiling-child.js';
import { childEnv } from './children.js';
import { toPlainNode } from './measure.js';
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
export async function writeEncryptedMedia(
  path: string,
  sizeBytes: number,
  type: MediaType = 'video',
): Promise<EncryptedMediaFile> {
  const mediaKey = generateMediaKey();
  const keystream = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(MiB);
  function* plaintext() {
    for (let left = sizeBytes; left > 0; left -= MiB)
      yield keystream.update(left >= MiB ? zeros : zeros.subarray(0, left));
  }
  const encrypt = createEncryptStream({ mediaKey, type });
  await pipeline(Readable.from(plaintext()), encrypt, createWriteStream(path));
  const r = encrypt.result!;
  return {
    path,
    mediaKey,
    type,
    fileSha256: r.fileSha256,
    fileEncSha256: r.fileEncSha256,
    plainLength: r.fileLength,
    encLength: r.encLength,
  };
}

/**
 * One ceiling pass over the file in a fresh process (ceiling-child.ts, after a warm-up pass
 * there); throws when the MAC or a hash is wrong. With `encSha256` it also hashes the
 * encrypted file (the `fileEncSha256` check).
 */
export async function ceilingPass(
  root: string,
  media: EncryptedMediaFile,
  opts: { encSha256?: boolean } = {},
): Promise<CeilingResult> {
  const { iv, cipherKey, macKey } = deriveMediaKeys(media.mediaKey, media.type);
  const job: CeilingJob = {
    path: media.path,
    encLength: media.encLength,
    iv: iv.toString('hex'),
    cipherKey: cipherKey.toString('hex'),
    macKey: macKey.toString('hex'),
    fileSha256: media.fileSha256.toString('hex'),
    fileEncSha256: media.fileEncSha256.toString('hex'),
    encSha256: opts.encSha256 ?? false,
  };
  const child = spawn(
    process.execPath,
    [toPlainNode(root, join(root, 'bench/ceiling-child.ts')), JSON.stringify(job)],
    { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the ceiling pass failed (exit ${String(code)})`);
  return JSON.parse(out) as CeilingResult;
}
