import type { DbOrTrx } from '../db.js';

const toMap = (rows: { key: string; n: string | number | bigint }[]) => new Map(rows.map((r) => [r.key, Number(r.n)]));

/** Sessions of every account, by status. */
export async function sessionsByStatus(db: DbOrTrx): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('sessions')
    .select((eb) => [eb.ref('status').as('key'), eb.fn.countAll<string | number>().as('n')])
    .groupBy('status')
    .execute();
  return toMap(rows);
}

/** Webhook deliveries still waiting (held, pending) or failed for good, by state (the due index covers it). */
export async function openDeliveriesByState(db: DbOrTrx): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => [eb.ref('state').as('key'), eb.fn.countAll<string | number>().as('n')])
    .where('state', 'in', ['held', 'pending', 'failed'])
    .groupBy('state')
    .execute();
  return toMap(rows);
}

/** Auto-persist jobs waiting or given up on, by state. */
export async function openPersistJobsByState(db: DbOrTrx): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('persist_jobs')
    .select((eb) => [eb.ref('state').as('key'), eb.fn.countAll<string | number>().as('n')])
    .where('state', 'in', ['pending', 'failed'])
    .groupBy('state')
    .execute();
  return toMap(rows);
}
