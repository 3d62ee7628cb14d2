/** PostgreSQL for the bench parties that need it (webhooks, workers). */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where a throwaway database may be created. */
export const BENCH_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A throwaway PostgreSQL database; `drop()` removes it. */
export async function tempDatabase(url: string) {
  const name = `titan_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.href,
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
