import type { Kysely } from 'kysely';

/** A webhook's previous signing key, kept (sealed) for a rotation window. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhooks').addColumn('hmac_key_previous', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('hmac_key_previous_until', 'text').execute();
}
