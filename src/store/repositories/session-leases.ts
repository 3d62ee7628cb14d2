import type { DbOrTrx } from '../db.js';

/**
 * Claims a session for `ownerId` until `expiresAt`: inserts the lease, or takes it over with a
 * conditional update when it is ours already or has expired. One statement, so two processes
 * racing for the same session cannot both win. Returns whether this owner holds it now.
 */
export async function claimLease(
  db: DbOrTrx,
  sessionId: string,
  ownerId: string,
  now: string,
  expiresAt: string,
): Promise<boolean> {
  const r = await db
    .insertInto('session_leases')
    .values({ session_id: sessionId, owner_id: ownerId, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('session_id')
        .doUpdateSet({ owner_id: ownerId, expires_at: expiresAt })
        .where((eb) => eb.or([eb('session_leases.owner_id', '=', ownerId), eb('session_leases.expires_at', '<', now)])),
    )
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Extends the leases `ownerId` still holds among `sessionIds`; returns the ids it still holds. */
export async function renewLeases(
  db: DbOrTrx,
  ownerId: string,
  sessionIds: string[],
  expiresAt: string,
): Promise<string[]> {
  if (sessionIds.length === 0) return [];
  const rows = await db
    .updateTable('session_leases')
    .set({ expires_at: expiresAt })
    .where('owner_id', '=', ownerId)
    .where('session_id', 'in', sessionIds)
    .returning('session_id')
    .execute();
  return rows.map((r) => r.session_id);
}

export function releaseLease(db: DbOrTrx, sessionId: string, ownerId: string) {
  return db.deleteFrom('session_leases').where('session_id', '=', sessionId).where('owner_id', '=', ownerId).execute();
}

/** The live owner of a session's lease, if any. */
export async function liveOwner(db: DbOrTrx, sessionId: string, now: string): Promise<string | null> {
  const r = await db
    .selectFrom('session_leases')
    .select('owner_id')
    .where('session_id', '=', sessionId)
    .where('expires_at', '>=', now)
    .executeTakeFirst();
  return r?.owner_id ?? null;
}

/** Sessions that should run but that no process holds (no lease, or an expired one). */
export function findOrphanedSessions(db: DbOrTrx, now: string, limit: number) {
  return db
    .selectFrom('sessions')
    .leftJoin('session_leases', 'session_leases.session_id', 'sessions.id')
    .select(['sessions.id', 'sessions.account_id', 'sessions.name', 'sessions.proxy'])
    .where('sessions.desired_state', '=', 'running')
    .where((eb) => eb.or([eb('session_leases.session_id', 'is', null), eb('session_leases.expires_at', '<', now)]))
    .orderBy('sessions.updated_at')
    .limit(limit)
    .execute();
}
