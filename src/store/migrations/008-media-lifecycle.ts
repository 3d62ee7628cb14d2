import { sql, type Kysely } from 'kysely';

const CDN_LIFETIME_MS = 14 * 86_400_000;

/**
 * The media lifecycle: rich metadata read from the message, thumbnails, tombstones, wiped keys,
 * the CDN expiry as a column (so it can be filtered and swept), account settings for
 * persist-before-expiry and retention, the durable queue of bucket deletions, and the claims
 * that keep each background sweep to one process at a time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const media = [
    ['sender', 'text'],
    ['width', 'integer'],
    ['height', 'integer'],
    ['duration_seconds', 'integer'],
    ['is_voice_note', 'integer'],
    ['is_animated', 'integer'],
    ['page_count', 'integer'],
    ['has_thumbnail', 'integer'],
    ['cdn_expires_at', 'text'],
    ['key_wiped_at', 'text'],
    ['deleted_at', 'text'],
    ['object_deleted_at', 'text'],
    ['expiry_queued_at', 'text'],
  ] as const;
  for (const [name, type] of media) await db.schema.alterTable('media').addColumn(name, type).execute();
  await backfillMedia(db);
  // The listing walks (account, session, created_at, id) newest first; sweeps scan by expiry.
  await db.schema.createIndex('media_listing_idx').on('media').columns(['session_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('media_expiry_idx').on('media').columns(['cdn_expires_at']).execute();
  await db.schema.createIndex('media_persisted_idx').on('media').columns(['persisted_at']).execute();

  await db.schema
    .createTable('media_thumbnails')
    .addColumn('media_id', 'text', (c) => c.primaryKey().references('media.id').onDelete('cascade'))
    // The JPEG WhatsApp embeds in the message, base64 (a few KiB; the same on both dialects).
    .addColumn('jpeg', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('account_settings').addColumn('persist_before_expiry', 'text').execute();
  await db.schema.alterTable('account_settings').addColumn('retention', 'text').execute();
  await db.schema.alterTable('persist_jobs').addColumn('trigger', 'text').execute();

  // Objects to remove from a bucket. No reference to media or sessions: the row that asked for
  // the deletion may be gone (a deleted session) long before the object is.
  await db.schema
    .createTable('media_deletions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('media_id', 'text')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_run_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('media_deletions_due_idx').on('media_deletions').columns(['next_run_at']).execute();

  await db.schema
    .createTable('sweep_claims')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('last_run_at', 'text')
    .execute();
}

/** Existing rows: the sender and the estimated CDN expiry (what ingest now records). */
async function backfillMedia(db: Kysely<unknown>): Promise<void> {
  type Row = {
    id: string;
    media_key_timestamp: number | string | null;
    created_at: string;
    participant: string | null;
    remote_jid: string | null;
  };
  for (;;) {
    const rows = (
      await sql<Row>`select id, media_key_timestamp, created_at, participant, remote_jid from media where cdn_expires_at is null limit 500`.execute(
        db,
      )
    ).rows;
    if (rows.length === 0) return;
    for (const r of rows) {
      const uploaded = r.media_key_timestamp !== null ? Number(r.media_key_timestamp) * 1000 : Date.parse(r.created_at);
      const expires = new Date(uploaded + CDN_LIFETIME_MS).toISOString();
      await sql`update media set cdn_expires_at = ${expires}, sender = ${r.participant ?? r.remote_jid} where id = ${r.id}`.execute(
        db,
      );
    }
  }
}
