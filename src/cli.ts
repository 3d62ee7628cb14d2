#!/usr/bin/env node
/**
 * The admin command line (`titan-media` bin, `node dist/cli.js`): accounts and API keys in the
 * configured database, for getting the first key of a production install without /admin.
 */
import { systemClock } from './clock.js';
import { COMMANDS } from './cli/commands.js';
import { USAGE, UsageError } from './cli/usage.js';
import { ConfigError, loadDatabaseConfig, readEnvironment } from './config.js';
import { AppError } from './errors.js';
import { openStore, type Store } from './store/db.js';
import { migrateToLatest } from './store/migrate.js';
import { VERSION } from './version.js';

const CONNECT_TIMEOUT_MS = 10_000;

const out = (text: string) => process.stdout.write(`${text}\n`);
const fail = (text: string, code: number) => {
  process.stderr.write(`titan-media: ${text}\n`);
  process.exitCode = code;
};

/** The database named without its password, for messages. */
function describeDatabase(db: ReturnType<typeof loadDatabaseConfig>): string {
  if (db.kind === 'sqlite') return `sqlite:${db.path}`;
  const u = new URL(db.url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function main(argv: string[]) {
  if (argv.includes('--version')) return out(VERSION);
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help') || argv.includes('-h')) {
    // Asked for: stdout. Nothing given: a wrong command line, so stderr and exit 2.
    if (argv.length > 0) return void process.stdout.write(USAGE);
    process.stderr.write(USAGE);
    process.exitCode = 2;
    return;
  }
  const [group = '', action = '', ...rest] = argv;
  const command = COMMANDS[group]?.[action];
  if (!command) return fail(`unknown command "${argv.slice(0, 2).join(' ')}"; see titan-media --help`, 2);
  let run;
  try {
    run = command(rest);
  } catch (err) {
    if (err instanceof UsageError) return fail(`${err.message}\nSee titan-media --help.`, 2);
    throw err;
  }

  let target;
  try {
    target = loadDatabaseConfig(readEnvironment());
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message, 1);
    throw err;
  }
  let store: Store | undefined;
  try {
    // A command line should fail, not hang, on a database host that does not answer.
    store = openStore(target.kind === 'postgres' ? { ...target, connectTimeoutMs: CONNECT_TIMEOUT_MS } : target);
    const applied = await migrateToLatest(store.db);
    if (applied.length > 0) process.stderr.write(`titan-media: database migrated (${applied.join(', ')})\n`);
    await run({ db: store.db, clock: systemClock, out });
  } catch (err) {
    if (err instanceof AppError) return fail(err.message, 1);
    const e = err as NodeJS.ErrnoException;
    fail(
      `the database ${describeDatabase(target)} failed: ${e.message || e.code || String(err)}. Check DATABASE_URL and that the database is running.`,
      1,
    );
  } finally {
    await store?.close().catch(() => undefined);
  }
}

await main(process.argv.slice(2));
