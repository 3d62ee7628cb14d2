import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { proto } from '@whiskeysockets/baileys';
import type { Clock } from '../clock.js';
import { InternalError, PayloadTooLargeError, ValidationError } from '../errors.js';
import { createEncryptStream, generateMediaKey } from '../media/encrypt-stream.js';
import type { MediaType } from '../media/media-type.js';
import type { SessionService } from '../sessions/session-service.js';
import { loadProto } from '../whatsapp/baileys.js';
import type { Ingest } from '../whatsapp/ingest.js';

export interface SimulateMediaInput {
  mimeType: string;
  type?: MediaType | undefined;
  fileName?: string | undefined;
  caption?: string | undefined;
  from?: string | undefined;
}

const FIELD: Record<MediaType, string> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

/** The media type WhatsApp would use for a MIME type (anything unknown travels as a document). */
export function mediaTypeForMime(mime: string): MediaType {
  if (mime === 'image/webp') return 'sticker';
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  return 'document';
}

function toJid(from: string | undefined): string {
  if (!from) return '15550001234@s.whatsapp.net';
  if (from.includes('@')) return from;
  const digits = from.replace(/\D/g, '');
  if (!digits) throw new ValidationError('`from` must be a phone number or a WhatsApp JID.');
  return `${digits}@s.whatsapp.net`;
}

export type Simulator = ReturnType<typeof createSimulator>;

/**
 * The sandbox: encrypts uploads exactly as WhatsApp does, hosts them on a simulated CDN served
 * by this server, and feeds real Baileys `WAMessage`s to the one ingest path.
 */
export function createSimulator(deps: {
  dir: string;
  maxBytes: number;
  clock: Clock;
  sessions: SessionService;
  ingest: Ingest;
  /** The origin the simulated CDN is reachable at (known once the server listens). */
  origin: () => string;
}) {
  const cdnDir = join(deps.dir, 'cdn');

  async function ingestFor(accountId: string, sessionName: string, message: proto.IWebMessageInfo) {
    const session = await deps.sessions.requireRow(accountId, sessionName);
    return deps.ingest({ id: session.id, accountId, name: session.name }, message);
  }

  return {
    cdnDir,

    /** Encrypts `body` to the simulated CDN as it arrives, then ingests a message carrying it. */
    async simulateMedia(accountId: string, sessionName: string, body: Readable, input: SimulateMediaInput) {
      await deps.sessions.requireRow(accountId, sessionName);
      const type = input.type ?? mediaTypeForMime(input.mimeType);
      const mediaKey = generateMediaKey();
      const name = `${randomBytes(16).toString('hex')}.enc`;
      await mkdir(cdnDir, { recursive: true });
      const tmp = join(cdnDir, `${name}.part`);
      const encrypt = createEncryptStream({ mediaKey, type });
      let seen = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          seen += chunk.length;
          cb(
            seen > deps.maxBytes
              ? new PayloadTooLargeError(`The upload is over MAX_MEDIA_BYTES (${deps.maxBytes}).`)
              : null,
            chunk,
          );
        },
      });
      try {
        await pipeline(body, limit, encrypt, createWriteStream(tmp, { mode: 0o600 }));
        await rename(tmp, join(cdnDir, name));
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      const r = encrypt.result!;
      const now = Math.floor(deps.clock.now().getTime() / 1000);
      const content: Record<string, unknown> = {
        url: `${deps.origin()}/simulator/cdn/${name}`,
        mimetype: input.mimeType,
        mediaKey,
        fileSha256: r.fileSha256,
        fileEncSha256: r.fileEncSha256,
        fileLength: r.fileLength,
        mediaKeyTimestamp: now,
      };
      if (input.caption && type !== 'audio' && type !== 'sticker') content.caption = input.caption;
      if (type === 'document') content.fileName = input.fileName ?? 'file';
      const { proto } = await loadProto();
      const message = proto.WebMessageInfo.fromObject({
        key: { remoteJid: toJid(input.from), fromMe: false, id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}` },
        messageTimestamp: now,
        pushName: 'Sandbox',
        message: { [FIELD[type]]: content },
      });
      const result = await ingestFor(accountId, sessionName, message);
      // A media message always yields a media record (new, or the one of its message id).
      if (!result.mediaId)
        throw new InternalError({ cause: new Error('the simulated media message produced no media record') });
      return { messageId: result.messageId, mediaId: result.mediaId };
    },

    /** Ingests a Baileys WAMessage given as JSON (byte fields in base64). */
    async simulateMessage(accountId: string, sessionName: string, json: Record<string, unknown>) {
      const { proto } = await loadProto();
      let message: proto.WebMessageInfo;
      try {
        message = proto.WebMessageInfo.fromObject(json);
      } catch (err) {
        throw new ValidationError(`Not a WAMessage: ${(err as Error).message}`);
      }
      const result = await ingestFor(accountId, sessionName, message);
      return { messageId: result.messageId, mediaId: result.mediaId };
    },

    /** A file of the simulated CDN (names are 128-bit random, the content is encrypted). */
    async cdnFile(name: string): Promise<{ path: string; size: number } | null> {
      if (!/^[0-9a-f]{32}\.enc$/.test(name)) return null;
      const path = join(cdnDir, name);
      try {
        return { path, size: (await stat(path)).size };
      } catch {
        return null;
      }
    },

    readCdnFile: (path: string, start: number, end: number) => createReadStream(path, { start, end }),
  };
}
