import type { Kysely } from 'kysely';

/** Per-account settings: storage (S3) and media behaviour. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('account_settings')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    // JSON of the S3 settings, the secret access key sealed; null = use the server default.
    .addColumn('s3', 'text')
    .addColumn('auto_persist', 'integer', (c) => c.notNull())
    .addColumn('download_mode', 'text', (c) => c.notNull())
    // Bumped on every change: cached S3 clients are keyed by it.
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}
