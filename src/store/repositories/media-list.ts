import type { MediaType } from '../enums.js';
import type { DbOrTrx } from '../db.js';
import type { MediaTable } from '../schema.js';

/** Every column but the sealed secrets: what listings and metadata need. */
export const PUBLIC_COLUMNS = [
  'id',
  'account_id',
  'session_id',
  'message_id',
  'remote_jid',
  'from_me',
  'participant',
  'type',
  'mime_type',
  'file_length',
  'file_name',
  'caption',
  'direct_path',
  'url',
  'file_sha256',
  'file_enc_sha256',
  'media_key_timestamp',
  'sha256',
  'persisted_at',
  's3_bucket',
  's3_key',
  's3_size',
  'created_at',
  'updated_at',
  'sender',
  'width',
  'height',
  'duration_seconds',
  'is_voice_note',
  'is_animated',
  'page_count',
  'has_thumbnail',
  'cdn_expires_at',
  'key_wiped_at',
  'deleted_at',
  'object_deleted_at',
  'expiry_queued_at',
  'declared_mime_type',
] as const satisfies readonly (keyof MediaTable)[];

export type PublicMediaRow = Pick<MediaTable, (typeof PUBLIC_COLUMNS)[number]>;

export interface MediaFilter {
  messageId?: string | undefined;
  type?: MediaType | undefined;
  persisted?: boolean | undefined;
  /** A JID, or a phone number (matches `<number>@…`). */
  from?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  expiringBefore?: string | undefined;
}

/** Where the previous page ended: the last row's (created_at, id). */
export interface ListPosition {
  createdAt: string;
  id: string;
}

/**
 * One page of a session's live media, newest first, ordered by (created_at, id) so a page
 * boundary is a fixed point: rows that arrive meanwhile sort before it and never shift later
 * pages. Tombstones are left out. Fetches `limit + 1` so the caller knows whether more follow.
 */
export function listMedia(
  db: DbOrTrx,
  accountId: string,
  sessionId: string,
  f: MediaFilter,
  after: ListPosition | null,
  limit: number,
) {
  let q = db
    .selectFrom('media')
    .select(PUBLIC_COLUMNS)
    .where('account_id', '=', accountId)
    .where('session_id', '=', sessionId)
    .where('deleted_at', 'is', null);
  if (f.messageId !== undefined) q = q.where('message_id', '=', f.messageId);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.persisted !== undefined) q = q.where('persisted_at', f.persisted ? 'is not' : 'is', null);
  if (f.from !== undefined) {
    const from = f.from;
    q = from.includes('@')
      ? q.where('sender', '=', from)
      : q.where((eb) => eb.or([eb('sender', 'like', `${from}@%`), eb('sender', 'like', `${from}:%@%`)]));
  }
  if (f.since !== undefined) q = q.where('created_at', '>=', f.since);
  if (f.until !== undefined) q = q.where('created_at', '<', f.until);
  if (f.expiringBefore !== undefined) q = q.where('cdn_expires_at', '<', f.expiringBefore);
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAt),
        eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)]),
      ]),
    );
  }
  return q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit + 1)
    .execute();
}
