import { InvalidCursorError, MediaDeletedError, MediaNotFoundError, ThumbnailNotFoundError } from '../errors.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Db } from '../store/db.js';
import { findThumbnail } from '../store/repositories/media.js';
import {
  listMedia,
  PUBLIC_COLUMNS,
  type ListPosition,
  type MediaFilter,
  type PublicMediaRow,
} from '../store/repositories/media-list.js';
import type { Buckets } from '../storage/buckets.js';
import { mediaDisposition, toMediaObject, type MediaObject } from './media-object.js';

export interface MediaPage {
  data: MediaObject[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next: string | null;
}

export type MediaCatalog = ReturnType<typeof createMediaCatalog>;

/** Finding media without touching the CDN: listings, lookups by message id, thumbnails. */
export function createMediaCatalog(deps: { db: Db; sessions: SessionService; buckets: Buckets }) {
  /** Media objects of rows, with `s3Url` minted now (one storage lookup per page). */
  async function present(accountId: string, session: string, rows: PublicMediaRow[]): Promise<MediaObject[]> {
    const bucket = rows.some((r) => r.persisted_at) ? await deps.buckets.bucketFor(accountId) : null;
    return Promise.all(
      rows.map(async (r) => {
        const url =
          bucket && r.persisted_at && r.s3_bucket && r.s3_key
            ? await bucket.url({ bucket: r.s3_bucket, key: r.s3_key }, mediaDisposition(r))
            : null;
        return toMediaObject(r, session, url);
      }),
    );
  }

  return {
    /** One page of a session's media, newest first; `cursor` is what the previous page's `next` said. */
    async list(
      accountId: string,
      sessionName: string,
      filter: MediaFilter,
      page: { cursor?: string | undefined; limit: number },
    ): Promise<MediaPage> {
      const session = await deps.sessions.requireRow(accountId, sessionName);
      const after = page.cursor === undefined ? null : decodeCursor(page.cursor);
      const rows = await listMedia(deps.db, accountId, session.id, filter, after, page.limit);
      const more = rows.length > page.limit;
      const shown = more ? rows.slice(0, page.limit) : rows;
      const last = shown.at(-1);
      return {
        data: await present(accountId, session.name, shown),
        next: more && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
      };
    },

    /** The media of a message (what users hold when the webhook's mediaId got lost). */
    async byMessage(accountId: string, sessionName: string, messageId: string): Promise<MediaObject> {
      const session = await deps.sessions.requireRow(accountId, sessionName);
      const row = await deps.db
        .selectFrom('media')
        .select(PUBLIC_COLUMNS)
        .where('account_id', '=', accountId)
        .where('session_id', '=', session.id)
        .where('message_id', '=', messageId)
        .executeTakeFirst();
      if (!row) throw new MediaNotFoundError();
      if (row.deleted_at) throw new MediaDeletedError(row.deleted_at);
      return (await present(accountId, session.name, [row]))[0]!;
    },

    /** The JPEG preview embedded in the message: from the database, so it outlives the CDN copy. */
    async thumbnail(accountId: string, sessionName: string, mediaId: string): Promise<Buffer> {
      const session = await deps.sessions.requireRow(accountId, sessionName);
      const row = await deps.db
        .selectFrom('media')
        .select(['id', 'deleted_at'])
        .where('account_id', '=', accountId)
        .where('session_id', '=', session.id)
        .where('id', '=', mediaId)
        .executeTakeFirst();
      if (!row) throw new MediaNotFoundError();
      if (row.deleted_at) throw new MediaDeletedError(row.deleted_at);
      const jpeg = await findThumbnail(deps.db, row.id);
      if (!jpeg) throw new ThumbnailNotFoundError();
      return jpeg;
    },
  };
}

/** Opaque to clients: base64url of where the page ended. */
function encodeCursor(p: ListPosition): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.id])).toString('base64url');
}

function decodeCursor(cursor: string): ListPosition {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      !Number.isNaN(Date.parse(v[0])) &&
      typeof v[1] === 'string' &&
      /^[A-Za-z0-9_-]{1,64}$/.test(v[1])
    ) {
      return { createdAt: v[0], id: v[1] };
    }
  } catch {
    // Not JSON: the same answer as any other cursor we did not hand out.
  }
  throw new InvalidCursorError();
}
