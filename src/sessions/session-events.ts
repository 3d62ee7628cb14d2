import type { Trx } from '../store/db.js';
import type { SessionStatus } from '../store/enums.js';
import type { SessionTable } from '../store/schema.js';

export type { SessionStatus } from '../store/enums.js';

/** The one way code outside the store names a session: its id, its account and its name. */
export interface SessionRef {
  id: string;
  accountId: string;
  name: string;
}

/** The reference of a stored session. */
export const sessionRef = (row: Pick<SessionTable, 'id' | 'account_id' | 'name'>): SessionRef => ({
  id: row.id,
  accountId: row.account_id,
  name: row.name,
});

export interface SessionStatusChange {
  session: SessionRef;
  status: SessionStatus;
  statusReason: string | null;
  previousStatus: SessionStatus;
  at: string;
}

/**
 * Runs inside the transaction that records a status change, so whatever it writes (the
 * webhook outbox) commits or rolls back with the change itself.
 */
export type SessionStatusListener = (trx: Trx, change: SessionStatusChange) => Promise<void>;
