/**
 * Interop with Baileys, the library that talks to WhatsApp: what it encrypts we decrypt, and
 * what we encrypt it decrypts. Baileys' download path does not check the MAC or any hash, so
 * only byte equality proves anything there; our side checks everything.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadContentFromMessage, encryptedStream, getMediaKeys } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecryptVerifyStream } from '../../src/media/decrypt-stream.js';
import { createEncryptStream, encryptBuffer, generateMediaKey } from '../../src/media/encrypt-stream.js';
import { deriveMediaKeys } from '../../src/media/media-keys.js';
import { MEDIA_TYPES } from '../../src/media/media-type.js';
import {
  collect,
  deterministicBytes,
  deterministicStream,
  hashThrough,
  randomChunks,
  runThrough,
  seededRandom,
  sha256,
} from './media-test-support.js';

const SIZES = [0, 1, 15, 16, 17, 1024 * 1024 + 3];
const BIG = 64 * 1024 * 1024 + 7;
const CASES = MEDIA_TYPES.flatMap((type) => SIZES.map((size) => [type, size] as const));

// Serves what the tests register: a whole buffer or a stream made on request.
const files = new Map<string, () => Buffer | Readable>();
const server = createServer((req, res) => {
  const body = files.get(req.url ?? '')?.();
  if (!body) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  if (Buffer.isBuffer(body)) return void res.end(body);
  pipeline(body, res).catch(() => res.destroy());
});
let baseUrl = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function baileysDownload(path: string, mediaKey: Buffer, type: (typeof MEDIA_TYPES)[number]) {
  // With no directPath, rc14 fetches `url` as given (directPath would force https://<host>).
  return downloadContentFromMessage({ url: baseUrl + path, mediaKey, directPath: undefined }, type);
}

describe('keys', () => {
  it.each(MEDIA_TYPES)('derives the same %s keys as Baileys getMediaKeys', async (type) => {
    const mediaKey = generateMediaKey();
    const ours = deriveMediaKeys(mediaKey, type);
    const theirs = await getMediaKeys(mediaKey, type);
    expect(Buffer.from(theirs.iv).equals(ours.iv)).toBe(true);
    expect(Buffer.from(theirs.cipherKey).equals(ours.cipherKey)).toBe(true);
    expect(Buffer.from(theirs.macKey!).equals(ours.macKey)).toBe(true);
  });
});

describe('Baileys encrypts, we decrypt', () => {
  it.each(CASES)('%s, %i bytes', async (type, size) => {
    const plain = deterministicBytes(size, size + 1);
    const theirs = await encryptedStream(plain, type);
    try {
      const file = await readFile(theirs.encFilePath);
      expect(theirs.fileSha256.equals(sha256(plain))).toBe(true);
      expect(theirs.fileEncSha256.equals(sha256(file))).toBe(true);
      const stream = createDecryptVerifyStream({
        mediaKey: theirs.mediaKey,
        type,
        fileSha256: theirs.fileSha256,
        fileEncSha256: theirs.fileEncSha256,
      });
      const out = await runThrough(stream, randomChunks(file, seededRandom(size), 70_000));
      expect(out.equals(plain)).toBe(true);
      expect(stream.plaintextSha256?.equals(theirs.fileSha256)).toBe(true);
      // CBC with the derived IV is deterministic: our encryption must be byte-identical.
      const ours = await encryptBuffer(plain, theirs.mediaKey, type);
      expect(ours.encrypted.equals(file)).toBe(true);
      expect(ours.fileEncSha256.equals(theirs.fileEncSha256)).toBe(true);
      expect(ours.fileLength).toBe(theirs.fileLength);
    } finally {
      await rm(theirs.encFilePath, { force: true });
    }
  });

  it(`streams ${BIG} bytes`, async () => {
    const theirs = await encryptedStream({ stream: deterministicStream(BIG, 42) }, 'video');
    try {
      const expected = await hashThrough(null, deterministicStream(BIG, 42));
      const stream = createDecryptVerifyStream({
        mediaKey: theirs.mediaKey,
        type: 'video',
        fileSha256: theirs.fileSha256,
        fileEncSha256: theirs.fileEncSha256,
      });
      const out = await hashThrough(stream, createReadStream(theirs.encFilePath));
      expect(out.length).toBe(BIG);
      expect(out.sha256.equals(expected.sha256)).toBe(true);
      expect(theirs.fileSha256.equals(expected.sha256)).toBe(true);
    } finally {
      await rm(theirs.encFilePath, { force: true });
    }
  });
});

describe('we encrypt, Baileys decrypts', () => {
  it.each(CASES)('%s, %i bytes', async (type, size) => {
    const plain = deterministicBytes(size, size + 2);
    const mediaKey = generateMediaKey();
    const ours = await encryptBuffer(plain, mediaKey, type);
    const path = `/${type}-${size}.enc`;
    files.set(path, () => ours.encrypted);
    const out = await collect(await baileysDownload(path, mediaKey, type));
    expect(out.equals(plain)).toBe(true);
  });

  it(`streams ${BIG} bytes`, async () => {
    const mediaKey = generateMediaKey();
    const encryptors: ReturnType<typeof createEncryptStream>[] = [];
    files.set('/big.enc', () => {
      const encrypt = createEncryptStream({ mediaKey, type: 'video' });
      encryptors.push(encrypt);
      return deterministicStream(BIG, 43).pipe(encrypt);
    });
    const expected = await hashThrough(null, deterministicStream(BIG, 43));
    const out = await hashThrough(null, await baileysDownload('/big.enc', mediaKey, 'video'));
    expect(out.length).toBe(BIG);
    expect(out.sha256.equals(expected.sha256)).toBe(true);
    expect(encryptors[0]?.result?.fileSha256.equals(expected.sha256)).toBe(true);
  });
});
