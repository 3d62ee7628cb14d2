import type { proto } from '@whiskeysockets/baileys';
import type { MediaDetails } from '../media/media-object.js';
import type { MediaType } from '../media/media-type.js';

type Msg = proto.IMessage;
type MediaContent = proto.Message.IImageMessage &
  proto.Message.IVideoMessage &
  proto.Message.IAudioMessage &
  proto.Message.IDocumentMessage &
  proto.Message.IStickerMessage;

/** The media part of a message, with what download needs. */
export interface ExtractedMedia {
  type: MediaType;
  /** Which content field it came from (`ptvMessage`, `audioMessage`, …), for the record. */
  field: string;
  mimeType: string;
  fileLength: number | null;
  fileName: string | null;
  caption: string | null;
  mediaKey: Buffer;
  directPath: string | null;
  url: string | null;
  fileSha256: Buffer | null;
  fileEncSha256: Buffer | null;
  mediaKeyTimestamp: number | null;
  /** What the message says about the file, without downloading it (null when it does not say). */
  details: MediaDetails;
  /** The JPEG preview WhatsApp embeds in the message, if any. */
  jpegThumbnail: Buffer | null;
}

// Content fields that carry an encrypted CDN file, and the media type (hence HKDF info) of each.
const MEDIA_FIELDS: [keyof Msg, MediaType][] = [
  ['imageMessage', 'image'],
  ['videoMessage', 'video'],
  ['ptvMessage', 'video'], // round video notes
  ['audioMessage', 'audio'], // voice notes too (ptt)
  ['documentMessage', 'document'],
  ['stickerMessage', 'sticker'],
];

const DEFAULT_MIME: Record<MediaType, string> = {
  image: 'image/jpeg',
  video: 'video/mp4',
  audio: 'audio/ogg',
  document: 'application/octet-stream',
  sticker: 'image/webp',
};

const toBuffer = (b: Uint8Array | string | null | undefined): Buffer | null =>
  b === null || b === undefined ? null : typeof b === 'string' ? Buffer.from(b, 'base64') : Buffer.from(b);

const toNumber = (n: number | Long | null | undefined): number | null =>
  n === null || n === undefined ? null : typeof n === 'number' ? n : Number(n.toString());

interface Long {
  toString(): string;
}

/**
 * Finds the media in a message, unwrapping every container WhatsApp uses: ephemeral, view-once
 * (v1, v2, v2 extension), document-with-caption, edited, bot-invoke, lottie stickers and any
 * other `FutureProofMessage` (`{message: …}`) wrapper, plus template and interactive headers.
 * Returns null when the message carries no media.
 */
export function extractMedia(message: Msg | null | undefined, depth = 0): ExtractedMedia | null {
  if (!message || depth > 6) return null;
  for (const [field, type] of MEDIA_FIELDS) {
    const content = message[field] as MediaContent | null | undefined;
    if (content?.mediaKey && (content.directPath || content.url)) return describe(content, type, String(field));
  }
  for (const value of Object.values(message) as unknown[]) {
    if (!value || typeof value !== 'object') continue;
    const inner = innerMessages(value as Record<string, unknown>);
    for (const m of inner) {
      const found = extractMedia(m, depth + 1);
      if (found) return found;
    }
  }
  return null;
}

/** Messages nested in a wrapper: `{message}` (FutureProofMessage), template/interactive headers. */
function innerMessages(v: Record<string, unknown>): Msg[] {
  const out: Msg[] = [];
  if (v.message && typeof v.message === 'object') out.push(v.message);
  // buttons/template/interactive messages keep their media beside or in a header.
  for (const k of ['hydratedTemplate', 'hydratedFourRowTemplate', 'fourRowTemplate', 'header']) {
    if (v[k] && typeof v[k] === 'object') out.push(v[k]);
  }
  if (['imageMessage', 'videoMessage', 'documentMessage'].some((k) => k in v) && !('message' in v)) out.push(v);
  return out;
}

function describe(c: MediaContent, type: MediaType, field: string): ExtractedMedia {
  return {
    type,
    field,
    mimeType: c.mimetype?.trim() || DEFAULT_MIME[type],
    fileLength: toNumber(c.fileLength),
    fileName: type === 'document' ? (c.fileName ?? null) : null,
    caption: c.caption ?? null,
    mediaKey: toBuffer(c.mediaKey)!,
    directPath: c.directPath ?? null,
    url: c.url ?? null,
    fileSha256: toBuffer(c.fileSha256),
    fileEncSha256: toBuffer(c.fileEncSha256),
    mediaKeyTimestamp: toNumber(c.mediaKeyTimestamp),
    details: detailsOf(c, type, field),
    jpegThumbnail: nonEmpty(toBuffer(c.jpegThumbnail)),
  };
}

const nonEmpty = (b: Buffer | null) => (b && b.length > 0 ? b : null);
const bool = (v: boolean | null | undefined) => (v === null || v === undefined ? null : v);

/** Only the fields each kind of content has: a document has no duration, audio no size. */
function detailsOf(c: MediaContent, type: MediaType, field: string): MediaDetails {
  const visual = type === 'image' || type === 'video' || type === 'sticker';
  return {
    width: visual ? toNumber(c.width) : null,
    height: visual ? toNumber(c.height) : null,
    durationSeconds: type === 'audio' || type === 'video' ? toNumber(c.seconds) : null,
    // A round video note (ptvMessage) is the video kind of a voice note.
    isVoiceNote: type === 'audio' ? bool(c.ptt) : field === 'ptvMessage' ? true : null,
    isAnimated: type === 'video' ? bool(c.gifPlayback) : type === 'sticker' ? bool(c.isAnimated) : null,
    pageCount: type === 'document' ? toNumber(c.pageCount) : null,
  };
}
