import type { Kysely } from 'kysely';

/** Media objects: what ingest recorded and what download and persist need. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('media')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('remote_jid', 'text')
    .addColumn('from_me', 'integer', (c) => c.notNull())
    .addColumn('participant', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('file_length', 'bigint')
    .addColumn('file_name', 'text')
    .addColumn('caption', 'text')
    .addColumn('media_key', 'text', (c) => c.notNull())
    .addColumn('direct_path', 'text')
    .addColumn('url', 'text')
    .addColumn('file_sha256', 'text')
    .addColumn('file_enc_sha256', 'text')
    .addColumn('media_key_timestamp', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('persisted_at', 'text')
    .addColumn('s3_bucket', 'text')
    .addColumn('s3_key', 'text')
    .addColumn('s3_size', 'bigint')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('media_session_message_uq', ['session_id', 'message_id'])
    .execute();
  await db.schema.createIndex('media_account_idx').on('media').column('account_id').execute();
}
