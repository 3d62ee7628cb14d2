import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrate.js';

export type Dialect = 'sqlite' | 'postgres';

/** Every dialect the suite runs against (`TEST_DIALECTS=sqlite` narrows it). */
export const DIALECTS: Dialect[] = (process.env.TEST_DIALECTS ?? 'sqlite,postgres')
  .split(',')
  .map((d) => d.trim())
  .filter((d): d is Dialect => d === 'sqlite' || d === 'postgres');

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Fails with a message that names the server and how to provide it. */
export async function assertPostgres() {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is needed by these tests but is not reachable at ${TEST_POSTGRES_URL} (${(err as Error).message}). ` +
        'Start it (e.g. `docker compose up -d postgres`) or point TEST_POSTGRES_URL at one.',
      { cause: err },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestDb {
  store: Store;
  /** Drops what the test created (the schema on PostgreSQL). */
  destroy(): Promise<void>;
  /** Opens a second, independent store on the same database (another "process"). */
  reopen(): Store;
  /** What `DATABASE_URL`-style configuration would point at this database. */
  target: Parameters<typeof openStore>[0];
}

/** A fresh, migrated database: in-memory-like SQLite file, or a new PostgreSQL schema. */
export async function createTestDb(dialect: Dialect): Promise<TestDb> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'titan-test-'));
    const target = { kind: 'sqlite' as const, path: join(dir, 'titan.db') };
    const store = openStore(target);
    await migrateToLatest(store.db);
    return {
      store,
      target,
      reopen: () => openStore(target),
      destroy: async () => {
        await store.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  await assertPostgres();
  const schema = newSchemaName('t');
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const target = { kind: 'postgres' as const, url: TEST_POSTGRES_URL, schema };
  const store = openStore(target);
  await migrateToLatest(store.db);
  return {
    store,
    target,
    reopen: () => openStore(target),
    // The schema itself is dropped when the run ends (dropRunSchemas): a drop while other files
    // migrate breaks their introspection ("schema … does not exist" from has_schema_privilege).
    destroy: () => store.close().catch(() => undefined),
  };
}

/** Set by the global setup and inherited by the workers: names this run's schemas. */
const RUN = (process.env.TITAN_TEST_RUN ??= randomBytes(4).toString('hex'));

/** A new PostgreSQL schema name of this run (`kind` tells what made it). */
export function newSchemaName(kind: string): string {
  return `${kind}_${RUN}_${randomBytes(5).toString('hex')}`;
}

/** Drops every schema this run made, once no test uses them any more. */
export async function dropRunSchemas(): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ nspname: string }>(
      `select nspname from pg_namespace where nspname like '%\\_' || $1 || '\\_%'`,
      [RUN],
    );
    for (const { nspname } of rows) await c.query(`drop schema if exists "${nspname}" cascade`);
  } finally {
    await c.end();
  }
}
