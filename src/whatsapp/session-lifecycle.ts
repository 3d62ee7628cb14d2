import type { Logger } from 'pino';
import type { SecretBox } from '../crypto/secret-box.js';
import { sessionRef } from '../sessions/session-events.js';
import type { Db } from '../store/db.js';
import { deleteAuth } from '../store/repositories/wa-auth.js';
import { NO_ACCOUNT } from './account-fields.js';
import { isPaired } from './auth-state.js';
import type { CommandHandlers } from './session-command.js';
import type { RecordStatus } from './session-status.js';

/**
 * Stop, restart and logout as they run in the process that holds the session (or in any
 * process when none does), each holding the session's lock: the handlers of those commands.
 */
export function lifecycleHandlers(deps: {
  db: Db;
  secretBox: SecretBox;
  log: Logger;
  connectTimeoutMs: number;
  recordStatus: RecordStatus;
}): Pick<CommandHandlers, 'stop' | 'restart' | 'logout'> {
  return {
    async stop(slot) {
      const { row } = slot;
      const r = slot.detach();
      await r?.stop();
      // A session that is not running keeps its reason (LOGGED_OUT, QR_TIMEOUT, …).
      const reason = r || row.status !== 'DISCONNECTED' ? 'MANUAL_STOP' : row.status_reason;
      await deps.recordStatus(sessionRef(row), 'DISCONNECTED', reason, { qr: null, desired_state: 'stopped' });
      if (r) await slot.release();
    },

    async restart(slot) {
      const r = slot.detach();
      if (!r) {
        await slot.claim(() => slot.launch());
        return;
      }
      await r.stop();
      await slot.launch();
    },

    async logout(slot) {
      const { row } = slot;
      let r = slot.runner;
      const paired = await isPaired(deps, row.id);
      // Unlinking needs a connection: open one just for that when the session is not running.
      if (!r && paired) {
        await slot.claim(() => {
          r = slot.spawn();
        });
      }
      if (r) {
        if (paired)
          await r
            .waitFor(['open'], deps.connectTimeoutMs)
            .catch((err: unknown) =>
              deps.log.warn({ err, session: row.name }, 'logging out without unlinking the device'),
            );
        slot.detach();
        await r.logout();
        await slot.release();
      } else {
        await deleteAuth(deps.db, row.id);
      }
      await deps.recordStatus(sessionRef(row), 'DISCONNECTED', 'LOGGED_OUT', {
        ...NO_ACCOUNT,
        qr: null,
        desired_state: 'stopped',
      });
    },
  };
}
