import type { BaileysEventMap } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../store/db.js';
import { findMediaByMessage, updateMedia } from '../store/repositories/media.js';
import { loadBaileys } from './baileys.js';
import type { SessionRef } from './session-status.js';

/**
 * `messages.media-update`: a phone re-uploaded a media file (asked by us or by anyone). The
 * notification is encrypted with a key derived from the media key; when it carries a new
 * `directPath`, the media object points there from now on.
 */
export function createMediaUpdateHandler(deps: {
  db: Db;
  secretBox: SecretBox;
  clock: Clock;
  logger: Logger;
  cdnBaseUrl: string;
}) {
  const base = deps.cdnBaseUrl.replace(/\/+$/, '');
  return async (session: SessionRef, updates: BaileysEventMap['messages.media-update']): Promise<void> => {
    for (const { key, media, error } of updates) {
      if (!media || error || !key.id) continue;
      const row = await findMediaByMessage(deps.db, session.id, key.id);
      if (!row) continue;
      let directPath: string | null | undefined;
      try {
        // Only ever called from a live socket's event, so Baileys is already loaded.
        const { decryptMediaRetryData, proto } = await loadBaileys();
        const n = decryptMediaRetryData(media, deps.secretBox.open(row.media_key), key.id);
        if (n.result === proto.MediaRetryNotification.ResultType.SUCCESS) directPath = n.directPath;
      } catch (err) {
        deps.logger.warn({ err, mediaId: row.id }, 'could not read a media update');
      }
      if (!directPath) continue;
      await updateMedia(deps.db, row.id, {
        direct_path: directPath,
        url: base + directPath,
        updated_at: deps.clock.now().toISOString(),
      });
    }
  };
}
