import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { MediaExpiredError } from '../errors.js';
import type { Db } from '../store/db.js';
import { findMedia, updateMedia } from '../store/repositories/media.js';
import { findSessionById } from '../store/repositories/sessions.js';
import type { MediaTable } from '../store/schema.js';
import { disconnectCode } from './disconnect-reason.js';
import { extractMedia } from './extract-media.js';
import type { CommandHandlers, CommandResults } from './session-command.js';
import type { SessionHost } from './session-host.js';
import { rebuildWaMessage } from './wa-message.js';

export type RecoveredRef = CommandResults['reupload'];

const GONE = 'The media is no longer on the WhatsApp CDN';

const notConnected = (session: string) =>
  new MediaExpiredError(
    `${GONE}, and session "${session}" is not connected, so the sender's phone cannot be asked to upload it again.`,
  );

class ReuploadTimeout extends Error {}

/**
 * Expired media: asks the sender's phone to upload the file again (Baileys
 * `updateMediaMessage`, called directly and under a timeout: Baileys' own retry-on-expiry
 * reads the wrong status field) and saves the new `directPath`/`url`. Every way this can fail
 * is a 410 MEDIA_EXPIRED whose message says which. The reupload command, as it runs in the
 * process that holds the session.
 */
export function reuploadHandler(deps: {
  db: Db;
  secretBox: SecretBox;
  clock: Clock;
  timeoutMs: number;
}): Pick<CommandHandlers, 'reupload'> {
  const seconds = Math.round(deps.timeoutMs / 100) / 10;

  return {
    reupload: async ({ row: session, runner }, { mediaId }) => {
      const socket = runner?.state === 'open' ? runner.socket : null;
      if (!socket) throw notConnected(session.name);
      const row = await findMedia(deps.db, session.account_id, session.id, mediaId);
      if (!row) throw new MediaExpiredError(`${GONE}.`);
      const asked = socket.updateMediaMessage(rebuildWaMessage(deps.secretBox, row));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new ReuploadTimeout()), deps.timeoutMs)),
      );
      // Baileys keeps waiting after we gave up; its late answer must not become an unhandled rejection.
      asked.catch(() => undefined);
      let updated;
      try {
        updated = await Promise.race([asked, timeout]);
      } catch (err) {
        if (err instanceof ReuploadTimeout)
          throw new MediaExpiredError(
            `${GONE}, and the sender's phone did not answer the re-upload request within ${seconds} s.`,
          );
        if (disconnectCode(err) === 404)
          throw new MediaExpiredError(
            `${GONE}, and the sender's phone no longer has it (re-upload answered: not found).`,
            { cause: err },
          );
        throw new MediaExpiredError(
          `${GONE}, and the sender's phone could not upload it again (${(err as Error).message}).`,
          { cause: err },
        );
      } finally {
        clearTimeout(timer);
      }
      const fresh = extractMedia(updated.message);
      if (!fresh?.directPath && !fresh?.url)
        throw new MediaExpiredError(`${GONE}, and the phone's re-upload gave no new location.`);
      await updateMedia(deps.db, row.id, {
        direct_path: fresh.directPath,
        url: fresh.url,
        updated_at: deps.clock.now().toISOString(),
      });
      return { directPath: fresh.directPath, url: fresh.url };
    },
  };
}

/** Expired media (see {@link reuploadHandler}), asked of the process that runs the media's session. */
export function createMediaRecovery(deps: { db: Db; host: Pick<SessionHost, 'dispatch'> }) {
  return {
    /** The `recoverExpired` seam of the media and persist services. */
    recoverExpired: async (_accountId: string, media: MediaTable): Promise<RecoveredRef> => {
      const session = await findSessionById(deps.db, media.session_id);
      if (!session || session.status !== 'CONNECTED') throw notConnected(session?.name ?? '?');
      return deps.host.dispatch(session, { kind: 'reupload', mediaId: media.id });
    },
  };
}
