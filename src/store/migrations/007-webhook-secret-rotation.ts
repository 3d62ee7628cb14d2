import type { Kysely } from 'kysely';

/**
 * A webhook's previous signing key, kept (sealed) for a rotation window; and a media's declared
 * MIME type when it was not a valid one (the row then holds application/octet-stream).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('media').addColumn('declared_mime_type', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('hmac_key_previous', 'text').execute();
  await db.schema.alterTable('webhooks').addColumn('hmac_key_previous_until', 'text').execute();
}
