import type { DbOrTrx } from '../db.js';

/** When the oldest webhook delivery still waiting to go out (state pending) was created; null when none. */
export async function oldestPendingDelivery(db: DbOrTrx): Promise<string | null> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.min<string | null>('created_at').as('at'))
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return row?.at ?? null;
}

/** When the oldest auto-persist job still waiting to run was created; null when none. */
export async function oldestPendingPersistJob(db: DbOrTrx): Promise<string | null> {
  const row = await db
    .selectFrom('persist_jobs')
    .select((eb) => eb.fn.min<string | null>('created_at').as('at'))
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return row?.at ?? null;
}

/**
 * Unpersisted media whose CDN copy expires between `from` and `to` (ms). The expiry is the
 * media key timestamp (seconds) plus `lifetimeMs`, or the row's creation when WhatsApp gave none,
 * as the media object reports it.
 */
export async function unpersistedExpiringBetween(
  db: DbOrTrx,
  from: number,
  to: number,
  lifetimeMs: number,
): Promise<number> {
  const [lo, hi] = [from - lifetimeMs, to - lifetimeMs];
  const row = await db
    .selectFrom('media')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('persisted_at', 'is', null)
    .where((eb) =>
      eb.or([
        eb.and([
          eb('media_key_timestamp', '>', Math.floor(lo / 1000)),
          eb('media_key_timestamp', '<=', Math.floor(hi / 1000)),
        ]),
        eb.and([
          eb('media_key_timestamp', 'is', null),
          eb('created_at', '>', new Date(lo).toISOString()),
          eb('created_at', '<=', new Date(hi).toISOString()),
        ]),
      ]),
    )
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
