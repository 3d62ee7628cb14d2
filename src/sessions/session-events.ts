import type { Trx } from '../store/db.js';

/** A session's status as Titan reports it. */
export type SessionStatus = 'CONNECTING' | 'CONNECTED' | 'DISCONNECTED';

export interface SessionStatusChange {
  session: { id: string; accountId: string; name: string };
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
