import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { createAccountService, type Account } from '../accounts/account-service.js';
import { createApiKeyService, type ApiKey } from '../accounts/api-key-service.js';
import { SCOPES } from '../accounts/scopes.js';
import type { Clock } from '../clock.js';
import { AccountNotFoundError } from '../errors.js';
import { CreateAccountBody, CreateKeyBody } from '../http/schemas/keys.js';
import type { Db } from '../store/db.js';
import { UsageError } from './usage.js';

export interface CliContext {
  db: Db;
  clock: Clock;
  out: (text: string) => void;
}

type Run = (ctx: CliContext) => Promise<void>;

/** What a command was given: its string options, and the --json / --quiet switches. */
interface Options {
  str(name: string): string | undefined;
  json: boolean;
  quiet: boolean;
}

/** Parses one command's options (`names` take a value); unknown options and stray arguments are usage errors. */
function options(args: string[], names: readonly string[]): Options {
  const spec: Record<string, { type: 'string' | 'boolean' }> = {
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  };
  for (const n of names) spec[n] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args, options: spec, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { str: (n) => values[n] as string | undefined, json: values.json === true, quiet: values.quiet === true };
}

/** The same rules as the HTTP API's bodies, with the option names of the command line. */
function validated<T>(schema: z.ZodType<T>, input: unknown, names: Record<string, string>): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new UsageError(
    r.error.issues.map((i) => `--${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join('; '),
  );
}

const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
};

async function accountFor(ctx: CliContext, id: string | undefined): Promise<Account> {
  const accounts = createAccountService(ctx.db, ctx.clock);
  try {
    return id ? await accounts.get(id) : await accounts.defaultAccount();
  } catch (err) {
    if (err instanceof AccountNotFoundError)
      throw new AccountNotFoundError(`There is no account ${id ?? ''}; accounts list shows them.`);
    throw err;
  }
}

function keysCreate(args: string[]): Run {
  const o = options(args, ['scopes', 'account', 'name', 'expires-days']);
  const scopes = o.str('scopes');
  if (scopes === undefined)
    throw new UsageError('--scopes is required, e.g. --scopes "*" or --scopes media:read,media:write');
  const wanted = scopes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new UsageError(
      `--scopes: unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; the scopes are ${SCOPES.join(', ')}`,
    );
  const days = o.str('expires-days');
  const input = validated(
    CreateKeyBody,
    {
      label: o.str('name') ?? 'cli',
      scopes: wanted,
      ...(days === undefined ? {} : { lifetimeDays: /^\d+$/.test(days) ? Number(days) : days }),
    },
    { label: 'name', lifetimeDays: 'expires-days' },
  );
  return async (ctx) => {
    const account = await accountFor(ctx, o.str('account'));
    const key = await createApiKeyService(ctx.db, ctx.clock, { cacheTtlMs: 0 }).create(account.id, input);
    if (o.json) return ctx.out(JSON.stringify({ data: key }));
    if (o.quiet) return ctx.out(key.key);
    ctx.out(
      [
        `Created API key ${key.id} "${key.label}" (scopes: ${key.scopes.join(',')}${key.expiresAt ? `, expires ${key.expiresAt}` : ''}) for account ${account.id} (${account.name}).`,
        'The secret is shown only now; store it:',
        '',
        `  ${key.key}`,
        '',
        `Use it as: Authorization: Bearer ${key.key}`,
      ].join('\n'),
    );
  };
}

function keysList(args: string[]): Run {
  const o = options(args, ['account']);
  const accountId = o.str('account');
  return async (ctx) => {
    if (accountId) await accountFor(ctx, accountId); // an unknown account is an error, not an empty list
    const keys: ApiKey[] = await createApiKeyService(ctx.db, ctx.clock, { cacheTtlMs: 0 }).list(accountId);
    if (o.json) return ctx.out(JSON.stringify({ data: keys }));
    if (keys.length === 0) return ctx.out('No API keys.');
    const state = (k: ApiKey) =>
      !k.isActive ? 'disabled' : k.expiresAt && k.expiresAt <= ctx.clock.now().toISOString() ? 'expired' : 'active';
    ctx.out(
      table([
        ['ID', 'ACCOUNT', 'NAME', 'PREFIX', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED', 'CREATED'],
        ...keys.map((k) => [
          k.id,
          k.accountId,
          k.label,
          `${k.prefix}…`,
          k.scopes.join(','),
          state(k),
          k.expiresAt ?? '-',
          k.lastUsedAt ?? '-',
          k.createdAt,
        ]),
      ]),
    );
  };
}

function accountsCreate(args: string[]): Run {
  const o = options(args, ['name']);
  if (o.str('name') === undefined) throw new UsageError('--name is required');
  const { name } = validated(CreateAccountBody, { name: o.str('name') }, {});
  return async (ctx) => {
    const account = await createAccountService(ctx.db, ctx.clock).create(name);
    if (o.json) return ctx.out(JSON.stringify({ data: account }));
    if (o.quiet) return ctx.out(account.id);
    ctx.out(
      `Created account ${account.id} (${account.name}). Give it a key: keys create --account ${account.id} --scopes "*"`,
    );
  };
}

function accountsList(args: string[]): Run {
  const o = options(args, []);
  return async (ctx) => {
    const accounts = await createAccountService(ctx.db, ctx.clock).list();
    if (o.json) return ctx.out(JSON.stringify({ data: accounts }));
    if (accounts.length === 0) return ctx.out('No accounts yet (keys create makes the default one).');
    ctx.out(table([['ID', 'NAME', 'CREATED'], ...accounts.map((a) => [a.id, a.name, a.createdAt])]));
  };
}

/**
 * Each command checks its whole command line first and returns what to run on the database,
 * so a wrong command line never opens (or creates, or migrates) one.
 */
export const COMMANDS: Record<string, Record<string, (args: string[]) => Run>> = {
  keys: { create: keysCreate, list: keysList },
  accounts: { create: accountsCreate, list: accountsList },
};
