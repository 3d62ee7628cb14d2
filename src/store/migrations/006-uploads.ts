import type { Kysely } from 'kysely';

/**
 * Uploads in progress: one row per media being copied into a bucket, written before the
 * multipart upload starts. The row is the cross-process claim on the media (single flight),
 * carries the owner's lease, and names the upload id, so any process can abort what a dead
 * one left open. A failure stays behind (with its error) for callers waiting on another process.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('media_id', 'text', (c) => c.primaryKey())
    .addColumn('claim_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('upload_id', 'text')
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('lease_expires_at', 'text', (c) => c.notNull())
    .addColumn('needs_abort', 'integer', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_status', 'integer')
    .addColumn('error_message', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('uploads_lease_idx').on('uploads').columns(['state', 'lease_expires_at']).execute();
}
