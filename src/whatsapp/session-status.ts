import type { Updateable } from 'kysely';
import type { Clock } from '../clock.js';
import type { SessionRef, SessionStatus, SessionStatusListener } from '../sessions/session-events.js';
import type { Db } from '../store/db.js';
import { findSessionById, updateSession } from '../store/repositories/sessions.js';
import type { SessionTable } from '../store/schema.js';

export type { SessionRef } from '../sessions/session-events.js';

/** Other columns that change with a status: account fields once paired, the QR, the intent. */
export type StatusFields = Pick<
  Updateable<SessionTable>,
  'phone_number' | 'push_name' | 'business_name' | 'platform' | 'lid' | 'qr' | 'desired_state'
>;

/** Records a session's status (and fields that go with it); see {@link createStatusRecorder}. */
export type RecordStatus = (
  session: SessionRef,
  status: SessionStatus,
  reason: string | null,
  fields?: StatusFields,
) => Promise<void>;

/**
 * The one function every status change goes through. It updates the session row and, when the
 * status or its reason changed, calls each SessionStatusListener inside the same transaction,
 * so what a listener writes (the webhook outbox) commits or rolls back with the change. A row
 * already deleted is left alone.
 */
export function createStatusRecorder(deps: {
  db: Db;
  clock: Clock;
  listeners: readonly SessionStatusListener[];
}): RecordStatus {
  return (session, status, reason, fields = {}) =>
    deps.db.transaction().execute(async (trx) => {
      const row = await findSessionById(trx, session.id);
      if (!row) return;
      const at = deps.clock.now().toISOString();
      await updateSession(trx, session.id, { ...fields, status, status_reason: reason, updated_at: at });
      if (row.status === status && row.status_reason === reason) return;
      const change = { session, status, statusReason: reason, previousStatus: row.status, at };
      for (const listener of deps.listeners) await listener(trx, change);
    });
}
