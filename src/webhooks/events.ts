import { checkMimeType } from '../media/content-headers.js';
import type { proto } from '@whiskeysockets/baileys';
import { AppError } from '../errors.js';
import type { MediaTable } from '../store/schema.js';
import type { ExtractedMedia } from '../whatsapp/extract-media.js';

/** Events a webhook can subscribe to (`webhook.test` goes only to the webhook being tested). */
export const EVENT_NAMES = [
  'message.received',
  'session.status',
  'media.persisted',
  'media.persist_failed',
  'media.deleted',
] as const;
export type EventName = (typeof EVENT_NAMES)[number] | 'webhook.test';

export type Payload = Record<string, unknown>;

interface Long {
  toString(): string;
}
const toNumber = (n: number | Long | null | undefined): number | null =>
  n === null || n === undefined ? null : Number(n.toString());

// Keys that travel beside the real content and say nothing about the message's kind.
const NOT_CONTENT = new Set(['messageContextInfo', 'senderKeyDistributionMessage']);

/** The message inside WhatsApp's wrappers (ephemeral, view-once, edited, …): `{message: …}`. */
function unwrap(m: proto.IMessage | null | undefined, depth = 0): proto.IMessage | null {
  if (!m || depth > 6) return m ?? null;
  for (const [k, v] of Object.entries(m) as [string, unknown][]) {
    if (NOT_CONTENT.has(k) || !v || typeof v !== 'object') continue;
    const inner = (v as { message?: unknown }).message;
    if (inner && typeof inner === 'object' && Object.keys(v).length <= 2) return unwrap(inner, depth + 1);
  }
  return m;
}

/** `text`, `image`, `location`, `reaction`, …: media by its type, else the content field's name. */
function messageType(m: proto.IMessage | null, media: ExtractedMedia | null): string {
  if (media) return media.type;
  if (!m) return 'unknown';
  if (m.conversation || m.extendedTextMessage) return 'text';
  const key = Object.keys(m).find((k) => !NOT_CONTENT.has(k) && (m as Record<string, unknown>)[k] != null);
  return key ? key.replace(/Message$/, '') : 'unknown';
}

/**
 * The `message.received` payload (DESIGN §6). `body` and `text` both carry the text, or the
 * caption of media; media messages add the media fields. `mediaUrl` / `persistError` are added
 * when an auto-persist job ends.
 */
export function messageReceivedPayload(
  message: proto.IWebMessageInfo,
  media: ExtractedMedia | null,
  mediaId: string | null,
  nowSeconds: number,
): Payload {
  const key = message.key ?? {};
  const inner = unwrap(message.message);
  const text = inner?.conversation ?? inner?.extendedTextMessage?.text ?? media?.caption ?? null;
  const from = key.remoteJid ?? null;
  const payload: Payload = {
    id: key.id,
    from,
    sender: key.participant ?? message.participant ?? from,
    type: messageType(inner, media),
    body: text,
    text,
    timestamp: toNumber(message.messageTimestamp) ?? nowSeconds,
    fromMe: key.fromMe === true,
    pushName: message.pushName ?? null,
    isGroup: from?.endsWith('@g.us') ?? false,
  };
  if (media) {
    Object.assign(payload, {
      mediaId,
      // The type as stored (checked at ingest), so the webhook and the media object agree.
      mimeType: checkMimeType(media.mimeType).mimeType,
      fileLength: media.fileLength,
      fileName: media.fileName,
      caption: media.caption,
      sha256: media.fileSha256?.toString('hex') ?? null,
    });
  }
  return payload;
}

export function mediaPersistedPayload(
  media: MediaTable,
  r: { url: string; key: string; bucket: string; size: number; sha256: string | null },
  trigger: string,
): Payload {
  return {
    mediaId: media.id,
    messageId: media.message_id,
    type: media.type,
    mimeType: media.mime_type,
    size: r.size,
    sha256: r.sha256,
    bucket: r.bucket,
    key: r.key,
    mediaUrl: r.url,
    trigger,
  };
}

export function mediaPersistFailedPayload(media: MediaTable, error: unknown, trigger: string): Payload {
  return {
    mediaId: media.id,
    messageId: media.message_id,
    type: media.type,
    mimeType: media.mime_type,
    error: errorInfo(error),
    trigger,
  };
}

export function mediaDeletedPayload(
  media: MediaTable,
  deletedAt: string,
  object: 'deleting' | 'kept' | 'none',
): Payload {
  return {
    mediaId: media.id,
    messageId: media.message_id,
    type: media.type,
    mimeType: media.mime_type,
    deletedAt,
    object,
  };
}

/** `{code, message}` of a failure; anything but our typed errors is reported generically. */
export function errorInfo(error: unknown): { code: string; message: string } {
  if (error instanceof AppError && error.code !== 'INTERNAL_ERROR') return { code: error.code, message: error.message };
  return { code: 'INTERNAL_ERROR', message: 'Internal server error.' };
}

/** The envelope around every payload, serialised once: these are the bytes that are signed. */
export function envelopeBody(e: {
  id: string;
  event: string;
  session: string | null;
  timestamp: string;
  payload: string;
}): string {
  return `{"id":${JSON.stringify(e.id)},"event":${JSON.stringify(e.event)},"session":${JSON.stringify(e.session)},"timestamp":${JSON.stringify(e.timestamp)},"payload":${e.payload}}`;
}
