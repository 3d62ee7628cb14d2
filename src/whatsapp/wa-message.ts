import type { proto, WAMessage } from '@whiskeysockets/baileys';
import type { SecretBox } from '../crypto/secret-box.js';
import type { MediaType } from '../media/media-type.js';
import type { MediaTable } from '../store/schema.js';
import { bufferReplacer, bufferReviver } from './buffer-json.js';
import type { ExtractedMedia } from './extract-media.js';

// The content field Baileys' `assertMediaContent` looks for (round video notes travel as video).
const RETRY_FIELD: Record<MediaType, keyof proto.IMessage> = {
  image: 'imageMessage',
  video: 'videoMessage',
  audio: 'audioMessage',
  document: 'documentMessage',
  sticker: 'stickerMessage',
};

/**
 * The part of an incoming message a media re-upload request needs (the whole key, addressing
 * alternatives included, and the media content with its key), as sealed JSON: it holds the
 * media key, so it is encrypted at rest like the media key column.
 */
export function sealWaMessage(secretBox: SecretBox, message: proto.IWebMessageInfo, media: ExtractedMedia): string {
  const stored: proto.IWebMessageInfo = {
    key: message.key ?? {},
    message: {
      [RETRY_FIELD[media.type]]: {
        mediaKey: media.mediaKey,
        directPath: media.directPath,
        url: media.url,
        mimetype: media.mimeType,
        fileSha256: media.fileSha256,
        fileEncSha256: media.fileEncSha256,
        fileLength: media.fileLength,
        mediaKeyTimestamp: media.mediaKeyTimestamp,
      },
    },
  };
  return secretBox.seal(JSON.stringify(stored, bufferReplacer));
}

/**
 * Rebuilds the WAMessage of a media row for Baileys' `updateMediaMessage`, with the row's
 * current CDN reference. Rows recorded before `wa_message` existed are rebuilt from columns.
 */
export function rebuildWaMessage(secretBox: SecretBox, row: MediaTable): WAMessage {
  const field = RETRY_FIELD[row.type];
  const stored: WAMessage = row.wa_message
    ? (JSON.parse(secretBox.open(row.wa_message).toString('utf8'), bufferReviver) as WAMessage)
    : {
        key: { remoteJid: row.remote_jid, fromMe: row.from_me === 1, id: row.message_id, participant: row.participant },
        message: {
          [field]: {
            mediaKey: secretBox.open(row.media_key),
            mimetype: row.mime_type,
            fileSha256: row.file_sha256 ? Buffer.from(row.file_sha256, 'hex') : null,
            fileEncSha256: row.file_enc_sha256 ? Buffer.from(row.file_enc_sha256, 'hex') : null,
            fileLength: row.file_length,
            mediaKeyTimestamp: row.media_key_timestamp,
          },
        },
      };
  const content = (stored.message as Record<string, Record<string, unknown>>)[field];
  if (content) Object.assign(content, { directPath: row.direct_path, url: row.url });
  return stored;
}
