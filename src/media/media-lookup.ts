import { MediaDeletedError, MediaNotFoundError } from '../errors.js';
import type { SessionService } from '../sessions/session-service.js';
import type { Db } from '../store/db.js';
import { findMedia } from '../store/repositories/media.js';

export type MediaLookup = ReturnType<typeof createMediaLookup>;

/** Finds a media by account, session name and id; anything else is not found, a deleted one is gone. */
export function createMediaLookup(deps: { db: Db; sessions: SessionService }) {
  return async (accountId: string, sessionName: string, mediaId: string) => {
    const session = await deps.sessions.requireRow(accountId, sessionName);
    const row = await findMedia(deps.db, accountId, session.id, mediaId);
    if (!row) throw new MediaNotFoundError();
    // A tombstone answers 410 for good: the owner deleted it.
    if (row.deleted_at) throw new MediaDeletedError(row.deleted_at);
    return { session, row };
  };
}
