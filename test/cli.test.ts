import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { DIALECTS, newSchemaName, TEST_POSTGRES_URL, type Dialect } from './support/databases.js';
import { runServer, waitForOutput, type ServerProcess } from './support/server-process.js';

const KEY = /^ {2}(titan_[A-Za-z0-9_-]{43})$/m;
const PRODUCTION = {
  NODE_ENV: 'production',
  MASTER_KEY: 'cli-test-master-key-0123',
  SECRET_KEY: 'cli-test-secret-key-0123',
};

/** A DATABASE_URL nobody has used yet: a new SQLite path, or an empty PostgreSQL schema. */
async function freshDatabase(dialect: Dialect, cwd: string): Promise<string> {
  if (dialect === 'sqlite') return `sqlite:${join(cwd, 'db', 'titan.db')}`;
  // Dropped with the run's other schemas when the run ends (test/support/databases.ts).
  const schema = newSchemaName('cli');
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const u = new URL(TEST_POSTGRES_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

describe.each(DIALECTS)('the admin command line (%s, real processes)', (dialect) => {
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) s.kill('SIGKILL');
  });

  async function serve(env: Record<string, string>, cwd: string) {
    const s = runServer({ ...PRODUCTION, ...env }, { cwd });
    servers.push(s);
    await waitForOutput(s, (out) => out.includes('titan-media listening'));
    return s;
  }

  it('creates the first key of a production install on a fresh database, and the server accepts it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'titan-cli-'));
    const env = { DATABASE_URL: await freshDatabase(dialect, cwd) };

    const created = await runCli(['keys', 'create', '--scopes', '*', '--name', 'ops'], env, cwd);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/database migrated \(001-foundation/);
    const secret = KEY.exec(created.stdout)?.[1];
    expect(secret, created.stdout).toBeDefined();
    expect(created.stdout).toMatch(/Created API key key_\S+ "ops" \(scopes: \*\) for account acc_\S+ \(default\)/);

    const server = await serve(env, cwd);
    // Production never prints a key of its own; the one from the command line works.
    expect(server.stdout()).not.toMatch(/titan_[A-Za-z0-9_-]{43}/);
    const account = await fetch(`${server.baseUrl}/api/account`, { headers: { authorization: `Bearer ${secret}` } });
    expect(account.status).toBe(200);
    expect(((await account.json()) as { data: { name: string } }).data.name).toBe('default');
    const session = await fetch(`${server.baseUrl}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'shop' }),
    });
    expect(session.status).toBe(201);

    // Listed afterwards, with its prefix and never its secret; a second run migrates nothing.
    const list = await runCli(['keys', 'list'], env, cwd);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`${secret!.slice(0, 12)}…`);
    expect(list.stdout).not.toContain(secret);
    expect(list.stdout).toMatch(/\bops\b.*\*\s+active/);
    expect(list.stderr).toBe('');
  });

  it('creates accounts and scoped keys for them; the server enforces account and scopes', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'titan-cli-'));
    const env = { DATABASE_URL: await freshDatabase(dialect, cwd) };
    const made = await runCli(['accounts', 'create', '--name', 'Acme shop', '--json'], env, cwd);
    expect(made.code, made.stderr).toBe(0);
    const acme = (JSON.parse(made.stdout) as { data: { id: string; name: string } }).data;
    expect(acme.name).toBe('Acme shop');

    const reader = await runCli(
      [
        'keys',
        'create',
        '--account',
        acme.id,
        '--scopes',
        'media:read,sessions:read',
        '--expires-days',
        '30',
        '--quiet',
      ],
      env,
      cwd,
    );
    expect(reader.code, reader.stderr).toBe(0);
    const secret = reader.stdout.trim();
    expect(secret).toMatch(/^titan_[A-Za-z0-9_-]{43}$/);

    const server = await serve(env, cwd);
    const auth = { authorization: `Bearer ${secret}` };
    const account = await fetch(`${server.baseUrl}/api/account`, { headers: auth });
    expect(((await account.json()) as { data: { id: string } }).data.id).toBe(acme.id);
    expect((await fetch(`${server.baseUrl}/api/sessions`, { headers: auth })).status).toBe(200);
    const denied = await fetch(`${server.baseUrl}/api/sessions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(denied.status).toBe(403);

    const accounts = await runCli(['accounts', 'list'], env, cwd);
    expect(accounts.stdout).toContain(acme.id);
    const keys = JSON.parse((await runCli(['keys', 'list', '--account', acme.id, '--json'], env, cwd)).stdout) as {
      data: { accountId: string; scopes: string[]; expiresAt: string | null; key?: string }[];
    };
    expect(keys.data).toHaveLength(1);
    expect(keys.data[0]).toMatchObject({ accountId: acme.id, scopes: ['media:read', 'sessions:read'] });
    expect(keys.data[0]!.key).toBeUndefined();
    const days = (Date.parse(keys.data[0]!.expiresAt!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const missing = await runCli(['keys', 'create', '--scopes', '*', '--account', 'acc_missing'], env, cwd);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no account acc_missing/);
    expect(JSON.parse((await runCli(['keys', 'list', '--json'], env, cwd)).stdout).data).toHaveLength(1);
  });
});

describe('the admin command line before any database work', () => {
  it('refuses bad command lines with exit 2 and a message, and creates no database', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'titan-cli-'));
    const env = { DATABASE_URL: `sqlite:${join(cwd, 'db', 'titan.db')}` };
    const cases: [string[], RegExp][] = [
      [['keys', 'create'], /--scopes is required/],
      [['keys', 'create', '--scopes', 'media:read,media:delete'], /unknown scope "media:delete"/],
      [['keys', 'create', '--scopes', '*', '--expires-days', 'soon'], /--expires-days: /],
      [['keys', 'create', '--scopes', '*', '--nmae', 'x'], /Unknown option '--nmae'/],
      [['keys', 'list', 'extra'], /extra/],
      [['accounts', 'create'], /--name is required/],
      [['keys', 'rotate'], /unknown command "keys rotate"/],
      [[], /^Usage: titan-media/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args, env, cwd)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(join(cwd, 'db'))).toBe(false);
    const help = await runCli(['--help'], env, cwd);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/keys create --scopes <list>/);
  });

  it('names a bad DATABASE_URL, read from .env as the server does', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'titan-cli-'));
    writeFileSync(join(cwd, '.env'), 'DATABASE_URL=mysql://db/titan\n');
    const r = await runCli(['keys', 'list'], {}, cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL: must be sqlite:<path> or postgres:/);
  });

  it('names the unreachable database without its password', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const cwd = mkdtempSync(join(tmpdir(), 'titan-cli-'));
    const r = await runCli(
      ['accounts', 'list'],
      { DATABASE_URL: `postgres://titan:hunter2-secret@127.0.0.1:${port}/titan` },
      cwd,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`postgres://titan:***@127.0.0.1:${port}/titan`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).not.toContain('hunter2');
  });

  it('gives up on a database that accepts the connection and never answers', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const cwd = mkdtempSync(join(tmpdir(), 'titan-cli-'));
      const r = await runCli(['keys', 'list'], { DATABASE_URL: `postgres://titan@127.0.0.1:${port}/titan` }, cwd);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/timeout/);
    } finally {
      silent.close();
    }
  });

  it('is the package bin, built to dist/cli.js with a node shebang', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ 'titan-media': 'dist/cli.js' });
    expect(readFileSync(new URL('../src/cli.ts', import.meta.url), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });
});
