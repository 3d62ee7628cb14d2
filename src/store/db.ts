import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type Transaction } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Either the database or a transaction: repositories accept both. */
export type DbOrTrx = Db | Trx;

export type DatabaseTarget =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string; connectTimeoutMs?: number };

export interface Store {
  db: Db;
  dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

// INT8 (bigint) comes back from pg as a string; our bigints (file sizes) fit in a double.
const INT8_OID = 20;
const pgTypes = (types: typeof pg.types) => ({
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? (v: string) => Number(v)
      : (types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
});

/** Opens the database named by `target` (creating the SQLite file and its folder if needed). */
export function openStore(target: DatabaseTarget): Store {
  if (target.kind === 'sqlite') {
    if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
    const sqlite = new BetterSqlite3(target.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { db, dialect: 'sqlite', close: () => db.destroy() };
  }
  // Loaded only for PostgreSQL (4–16 MB of RSS a SQLite server never needs); require keeps
  // openStore synchronous.
  const { Pool, types } = createRequire(import.meta.url)('pg') as typeof pg;
  const pool = new Pool({
    connectionString: target.url,
    max: 10,
    types: pgTypes(types),
    // A per-run schema keeps test runs (and tenants of one server, if wanted) apart.
    ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
    // Also bounds the wait for a free pooled connection, so only where a caller asks for it.
    ...(target.connectTimeoutMs ? { connectionTimeoutMillis: target.connectTimeoutMs } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
