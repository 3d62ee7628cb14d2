import { PostgresAdapter, sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { Db } from './db.js';
import * as m001 from './migrations/001-foundation.js';
import * as m002 from './migrations/002-media.js';
import * as m003 from './migrations/003-settings.js';
import * as m004 from './migrations/004-whatsapp.js';
import * as m005 from './migrations/005-webhooks.js';
import * as m006 from './migrations/006-uploads.js';
import * as m008 from './migrations/008-media-lifecycle.js';

/**
 * Forward-only migrations, bundled in code (no file-system scan, so `dist/` and `tsx` behave
 * alike). Append new ones; never edit a released one.
 */
const MIGRATIONS: Record<string, Migration> = {
  '001-foundation': m001,
  '002-media': m002,
  '003-settings': m003,
  '004-whatsapp': m004,
  '005-webhooks': m005,
  '006-uploads': m006,
  '008-media-lifecycle': m008,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(MIGRATIONS) };

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider, migrationTableSchema: await currentSchema(db) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * PostgreSQL's current schema, where the migration tables live. Kysely otherwise takes a
 * migration table in *any* schema for its own, so two schemas of one database (one per test
 * run, or per install) would see each other's. SQLite has no schemas: undefined.
 */
async function currentSchema(db: Db): Promise<string | undefined> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return undefined;
  const r = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return r.rows[0]?.schema;
}
