import { createHash, randomBytes } from 'node:crypto';
import { encryptBuffer, generateMediaKey } from '../../src/media/encrypt-stream.js';
import type { MediaType } from '../../src/media/media-type.js';
import type { FakeCdn } from './fake-cdn.js';
import type { TestApp } from './app.js';

const FIELD: Record<MediaType, string> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Random plaintext of `size` bytes. */
export const plaintextOf = (size: number): Buffer => randomBytes(size);

export interface PublishedMedia {
  plaintext: Buffer;
  encrypted: Buffer;
  mediaKey: Buffer;
  path: string;
  /** A Baileys WAMessage as JSON (bytes in base64), as simulate/message takes it. */
  message: Record<string, unknown>;
}

/**
 * Encrypts `plaintext` like WhatsApp, serves it from the fake CDN at `path`, and returns the
 * WAMessage that points at it (by `url`).
 */
export async function publishMedia(
  cdn: FakeCdn,
  opts: {
    type: MediaType;
    plaintext: Buffer;
    path?: string;
    mimeType?: string;
    fileName?: string;
    wrap?: (m: Record<string, unknown>) => Record<string, unknown>;
    fields?: Record<string, unknown>;
    id?: string;
  },
): Promise<PublishedMedia> {
  const mediaKey = generateMediaKey();
  const enc = await encryptBuffer(opts.plaintext, mediaKey, opts.type);
  const path = opts.path ?? `/v/t62/${randomBytes(8).toString('hex')}.enc`;
  cdn.put(path, enc.encrypted);
  const content: Record<string, unknown> = {
    url: cdn.origin + path,
    mimetype:
      opts.mimeType ??
      {
        image: 'image/jpeg',
        video: 'video/mp4',
        audio: 'audio/ogg; codecs=opus',
        document: 'application/pdf',
        sticker: 'image/webp',
      }[opts.type],
    mediaKey: mediaKey.toString('base64'),
    fileSha256: enc.fileSha256.toString('base64'),
    fileEncSha256: enc.fileEncSha256.toString('base64'),
    fileLength: opts.plaintext.length,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
    ...(opts.type === 'document' ? { fileName: opts.fileName ?? 'report.pdf' } : {}),
    ...opts.fields,
  };
  const inner = { [FIELD[opts.type]]: content };
  return {
    plaintext: opts.plaintext,
    encrypted: enc.encrypted,
    mediaKey,
    path,
    message: {
      key: {
        remoteJid: '15550009999@s.whatsapp.net',
        fromMe: false,
        id: opts.id ?? `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
      },
      messageTimestamp: Math.floor(Date.now() / 1000),
      pushName: 'Tester',
      message: opts.wrap ? opts.wrap(inner) : inner,
    },
  };
}

/** Feeds a WAMessage through the simulator (the one ingest path) and returns the media id. */
export async function ingestMessage(
  t: TestApp,
  auth: { authorization: string },
  session: string,
  message: Record<string, unknown>,
) {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/sessions/${session}/simulate/message`,
    headers: auth,
    payload: message,
  });
  if (res.statusCode !== 201) throw new Error(`ingest failed: ${res.statusCode} ${res.body}`);
  return res.json<{ data: { messageId: string; mediaId: string | null } }>().data;
}
