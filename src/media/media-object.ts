import type { MediaTable } from '../store/schema.js';
import { urlDisposition, type NamedMedia } from './object-naming.js';
import type { MediaType } from './media-type.js';

export const CDN_LIFETIME_MS = 14 * 86_400_000;

/** The media object of the API (DESIGN §4): Titan's fields plus ours. Never the media key. */
/** What the message itself says about the file (null where it says nothing). */
export interface MediaDetails {
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  isVoiceNote: boolean | null;
  isAnimated: boolean | null;
  pageCount: number | null;
}

export interface MediaObject extends MediaDetails {
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
  from: string | null;
  hasThumbnail: boolean;
  /** The CDN copy expired unpersisted and the media key was wiped: it can never be read again. */
  expired: boolean;
}

/** The estimated end of the CDN copy: WhatsApp drops media about 14 days after upload. */
export function cdnExpiry(mediaKeyTimestamp: number | null, createdAt: string): string {
  const uploaded = mediaKeyTimestamp !== null ? mediaKeyTimestamp * 1000 : Date.parse(createdAt);
  return new Date(uploaded + CDN_LIFETIME_MS).toISOString();
}

const flag = (v: number | null) => (v === null ? null : v === 1);

/** The one mapping from a media row to the API; `s3Url` is minted by the caller at read time. */
export function toMediaObject(
  row: Omit<MediaTable, 'media_key' | 'wa_message'>,
  session: string,
  s3Url: string | null,
): MediaObject {
  return {
    id: row.id,
    messageId: row.message_id,
    session,
    mimeType: row.mime_type,
    declaredMimeType: row.declared_mime_type,
    fileLength: row.file_length,
    persisted: row.persisted_at !== null,
    s3Url,
    type: row.type,
    fileName: row.file_name,
    caption: row.caption,
    sha256: row.sha256 ?? row.file_sha256,
    createdAt: row.created_at,
    cdnExpiresAt: row.cdn_expires_at ?? cdnExpiry(row.media_key_timestamp, row.created_at),
    persistedAt: row.persisted_at,
    from: row.sender,
    width: row.width,
    height: row.height,
    durationSeconds: row.duration_seconds,
    isVoiceNote: flag(row.is_voice_note),
    isAnimated: flag(row.is_animated),
    pageCount: row.page_count,
    hasThumbnail: row.has_thumbnail === 1,
    // A persist that was already streaming when the key was wiped still stored the file.
    expired: row.key_wiped_at !== null && row.persisted_at === null,
  };
}

/** What names a media's object and downloads. */
export const namedMedia = (row: Pick<MediaTable, 'id' | 'type' | 'mime_type' | 'file_name'>): NamedMedia => ({
  id: row.id,
  type: row.type,
  mimeType: row.mime_type,
  fileName: row.file_name,
});

/** The `Content-Disposition` a media's presigned URLs ask the bucket to answer with. */
export const mediaDisposition = (row: Pick<MediaTable, 'id' | 'type' | 'mime_type' | 'file_name'>): string =>
  urlDisposition(namedMedia(row));
