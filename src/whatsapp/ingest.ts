import { checkMimeType } from '../media/content-headers.js';
import type { proto } from '@whiskeysockets/baileys';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { ValidationError } from '../errors.js';
import { newId } from '../ids.js';
import type { SessionRef } from '../sessions/session-events.js';
import type { Db, Trx } from '../store/db.js';
import { cdnExpiry } from '../media/media-object.js';
import { findMediaByMessage, insertMediaIfAbsent, insertThumbnail } from '../store/repositories/media.js';
import { insertMessageIfAbsent } from '../store/repositories/messages.js';
import type { MediaTable } from '../store/schema.js';
import { extractMedia, type ExtractedMedia } from './extract-media.js';
import { sealWaMessage } from './wa-message.js';

export interface IngestResult {
  messageId: string;
  mediaId: string | null;
  /** False when this message had been ingested before (nothing new was recorded). */
  created: boolean;
}

/** Runs inside the ingest transaction once a message is recorded (the outbox hooks in here). */
export type IngestListener = (
  trx: Trx,
  event: { session: SessionRef; message: proto.IWebMessageInfo; media: ExtractedMedia | null; mediaId: string | null },
) => Promise<void>;

export type Ingest = (session: SessionRef, message: proto.IWebMessageInfo) => Promise<IngestResult>;

/**
 * The one path every incoming WhatsApp message takes (live sockets and the simulator alike).
 * Records a media object when the message carries media; idempotent on (session, message id).
 */
export function createIngest(deps: {
  db: Db;
  clock: Clock;
  secretBox: SecretBox;
  listeners?: IngestListener[];
}): Ingest {
  return async (session, message) => {
    // PostgreSQL text cannot hold U+0000: a NUL from someone's phone must not lose the message.
    const messageId = noNul(message.key?.id);
    if (!messageId) throw new ValidationError('The message has no key.id.');
    const media = extractMedia(message.message);
    return deps.db.transaction().execute(async (trx) => {
      let mediaId: string | null = null;
      const now = deps.clock.now().toISOString();
      // Every message (with media or not) is recorded once, so a replay is not new.
      let created = await insertMessageIfAbsent(trx, {
        session_id: session.id,
        message_id: messageId,
        account_id: session.accountId,
        created_at: now,
      });
      if (media) {
        const mime = checkMimeType(media.mimeType);
        const row: MediaTable = {
          id: newId('', 16),
          account_id: session.accountId,
          session_id: session.id,
          message_id: messageId,
          remote_jid: noNul(message.key?.remoteJid),
          from_me: message.key?.fromMe ? 1 : 0,
          participant: noNul(message.key?.participant),
          type: media.type,
          mime_type: mime.mimeType,
          declared_mime_type: noNul(mime.declared),
          file_length: media.fileLength,
          file_name: noNul(media.fileName),
          caption: noNul(media.caption),
          media_key: deps.secretBox.seal(media.mediaKey),
          direct_path: media.directPath,
          url: media.url,
          file_sha256: media.fileSha256?.toString('hex') ?? null,
          file_enc_sha256: media.fileEncSha256?.toString('hex') ?? null,
          media_key_timestamp: media.mediaKeyTimestamp,
          sha256: null,
          persisted_at: null,
          s3_bucket: null,
          s3_key: null,
          s3_size: null,
          wa_message: sealWaMessage(deps.secretBox, message, media),
          created_at: now,
          updated_at: now,
          ...detailColumns(media),
          sender: noNul(message.key?.participant ?? message.participant ?? message.key?.remoteJid),
          cdn_expires_at: cdnExpiry(media.mediaKeyTimestamp, now),
          key_wiped_at: null,
          deleted_at: null,
          object_deleted_at: null,
          expiry_queued_at: null,
        };
        const added = await insertMediaIfAbsent(trx, row);
        if (added && media.jpegThumbnail) await insertThumbnail(trx, row.id, media.jpegThumbnail);
        created = added && created;
        mediaId = created ? row.id : ((await findMediaByMessage(trx, session.id, messageId))?.id ?? null);
      }
      if (created) {
        for (const l of deps.listeners ?? []) await l(trx, { session, message, media, mediaId });
      }
      return { messageId, mediaId, created };
    });
  };
}

const bit = (v: boolean | null) => (v === null ? null : v ? 1 : 0);

/** The message's own description of the file, as columns. */
function detailColumns(media: ExtractedMedia) {
  const d = media.details;
  return {
    width: d.width,
    height: d.height,
    duration_seconds: d.durationSeconds,
    is_voice_note: bit(d.isVoiceNote),
    is_animated: bit(d.isAnimated),
    page_count: d.pageCount,
    has_thumbnail: media.jpegThumbnail ? 1 : 0,
  };
}
const noNul = (v: string | null | undefined): string | null => (typeof v === 'string' ? v.replace(/\0/g, '') : null);
