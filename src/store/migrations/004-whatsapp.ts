import type { Kysely } from 'kysely';

/**
 * WhatsApp sessions: Baileys auth state (credentials and signal keys, sealed), the lease that
 * makes each session run in one process, what a session should be doing, its current QR, the
 * requests other processes hand to the one running a session, and the message each media
 * came in (what a re-upload request needs).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // SQLite adds one column per ALTER TABLE.
  await db.schema
    .alterTable('sessions')
    .addColumn('desired_state', 'text', (c) => c.notNull().defaultTo('stopped'))
    .execute();
  await db.schema.alterTable('sessions').addColumn('qr', 'text').execute();
  await db.schema.alterTable('media').addColumn('wa_message', 'text').execute();

  await db.schema
    .createTable('wa_auth_creds')
    .addColumn('session_id', 'text', (c) => c.primaryKey().references('sessions.id').onDelete('cascade'))
    .addColumn('creds', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('wa_auth_keys')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('wa_auth_keys_pk', ['session_id', 'type', 'key_id'])
    .execute();

  await db.schema
    .createTable('session_leases')
    .addColumn('session_id', 'text', (c) => c.primaryKey().references('sessions.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('session_leases_owner_idx').on('session_leases').column('owner_id').execute();

  await db.schema
    .createTable('session_commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('session_commands_owner_idx')
    .on('session_commands')
    .columns(['owner_id', 'state'])
    .execute();
}
