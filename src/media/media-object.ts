import type { MediaTable } from '../store/schema.js';
import type { MediaType } from './media-type.js';

const CDN_LIFETIME_MS = 14 * 86_400_000;

/** The media object of the API (DESIGN §4): Titan's fields plus ours. Never the media key. */
export interface MediaObject {
  id: string;
  messageId: string;
  session: string;
  mimeType: string;
  /** What the message declared when it was not a valid media type (mimeType is then application/octet-stream). */
  declaredMimeType: string | null;
  fileLength: number | null;
  persisted: boolean;
  s3Url: string | null;
  type: MediaType;
  fileName: string | null;
  caption: string | null;
  sha256: string | null;
  createdAt: string;
  cdnExpiresAt: string;
  persistedAt: string | null;
}

/** The one mapping from a media row to the API; `s3Url` is minted by the caller at read time. */
export function toMediaObject(row: MediaTable, session: string, s3Url: string | null): MediaObject {
  // WhatsApp drops media about 14 days after upload; the media key timestamp dates the upload.
  const uploaded = row.media_key_timestamp !== null ? row.media_key_timestamp * 1000 : Date.parse(row.created_at);
  return {
    id: row.id,
    messageId: row.message_id,
    session,
    mimeType: row.mime_type,
    declaredMimeType: row.declared_mime_type,
    fileLength: row.file_length,
    persisted: row.persisted_at !== null,
    s3Url,
    type: row.type as MediaType,
    fileName: row.file_name,
    caption: row.caption,
    sha256: row.sha256 ?? row.file_sha256,
    createdAt: row.created_at,
    cdnExpiresAt: new Date(uploaded + CDN_LIFETIME_MS).toISOString(),
    persistedAt: row.persisted_at,
  };
}
