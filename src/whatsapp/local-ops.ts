import type { Logger } from 'pino';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../store/db.js';
import { deleteAuth } from '../store/repositories/wa-auth.js';
import type { SessionTable } from '../store/schema.js';
import { NO_ACCOUNT } from './account-fields.js';
import { isPaired } from './auth-state.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { SessionRunner } from './session-runner.js';
import type { RecordStatus } from './session-status.js';

/** What the lifecycle operations work with: this process's runners and leases. */
export interface LocalOpsContext {
  db: Db;
  secretBox: SecretBox;
  log: Logger;
  connectTimeoutMs: number;
  runners: Map<string, SessionRunner>;
  leases: Pick<LeaseKeeper, 'claim' | 'release'>;
  recordStatus: RecordStatus;
  /** Records CONNECTING and starts a runner for the session (its lease is held). */
  launch(row: SessionTable, reason: 'AUTO_RECONNECT' | null): Promise<void>;
  /** Starts a runner without recording a status. */
  spawn(row: SessionTable): SessionRunner;
}

const ref = (r: SessionTable) => ({ id: r.id, accountId: r.account_id, name: r.name });

/**
 * Stop, restart and logout as they run in the process that holds the session (or in any
 * process when none does); the session manager routes them here.
 */
export function createLocalOps(ctx: LocalOpsContext) {
  const { runners, leases } = ctx;

  return {
    async stop(row: SessionTable): Promise<void> {
      const r = runners.get(row.id);
      runners.delete(row.id);
      await r?.stop();
      // A session that is not running keeps its reason (LOGGED_OUT, QR_TIMEOUT, …).
      const reason = r || row.status !== 'DISCONNECTED' ? 'MANUAL_STOP' : row.status_reason;
      await ctx.recordStatus(ref(row), 'DISCONNECTED', reason, { qr: null, desired_state: 'stopped' });
      if (r) await leases.release(row.id);
    },

    async restart(row: SessionTable): Promise<void> {
      const r = runners.get(row.id);
      if (!r) {
        await leases.claim(row.id, () => ctx.launch(row, null));
        return;
      }
      runners.delete(row.id);
      await r.stop();
      await ctx.launch(row, null);
    },

    async logout(row: SessionTable): Promise<void> {
      let r = runners.get(row.id);
      const paired = await isPaired(ctx, row.id);
      // Unlinking needs a connection: open one just for that when the session is not running.
      if (!r && paired) {
        await leases.claim(row.id, () => {
          r = ctx.spawn(row);
          runners.set(row.id, r);
        });
      }
      if (r) {
        if (paired)
          await r
            .waitFor(['open'], ctx.connectTimeoutMs)
            .catch((err: unknown) =>
              ctx.log.warn({ err, session: row.name }, 'logging out without unlinking the device'),
            );
        runners.delete(row.id);
        await r.logout();
        await leases.release(row.id);
      } else {
        await deleteAuth(ctx.db, row.id);
      }
      await ctx.recordStatus(ref(row), 'DISCONNECTED', 'LOGGED_OUT', {
        ...NO_ACCOUNT,
        qr: null,
        desired_state: 'stopped',
      });
    },
  };
}
