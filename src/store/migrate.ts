import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './db.js';
import * as m001 from './migrations/001-foundation.js';
import * as m002 from './migrations/002-media.js';
import * as m003 from './migrations/003-settings.js';

/**
 * Forward-only migrations, bundled in code (no file-system scan, so `dist/` and `tsx` behave
 * alike). Append new ones; never edit a released one.
 */
const MIGRATIONS: Record<string, Migration> = {
  '001-foundation': m001,
  '002-media': m002,
  '003-settings': m003,
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(MIGRATIONS) };

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
