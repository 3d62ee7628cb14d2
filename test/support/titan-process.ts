import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASTER_KEY, SECRET_KEY } from './app.js';
import type { TestDb } from './databases.js';
import { runServer, waitForOutput, type ServerProcess } from './server-process.js';

/** DATABASE_URL for a server process on the test database (its own PostgreSQL schema). */
export function databaseUrl(db: TestDb): string {
  const t = db.target;
  if (t.kind === 'sqlite') return `sqlite:${t.path}`;
  const url = new URL(t.url);
  if (t.schema) url.searchParams.set('options', `-c search_path=${t.schema}`);
  return url.toString();
}

export interface TitanProcess extends ServerProcess {
  /** JSON request with the given key (or the master key for /admin). */
  // The body is whatever JSON the server sent; tests read fields off it as they do with inject().
  call(
    method: string,
    path: string,
    opts?: { auth?: string; body?: unknown; raw?: Buffer; contentType?: string },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

/** A real server process on `db`, started and listening. `cwd` lets a restart keep its data folder. */
export async function startTitan(
  db: TestDb,
  env: Record<string, string>,
  cwd = mkdtempSync(join(tmpdir(), 'titan-proc-')),
): Promise<TitanProcess & { cwd: string }> {
  const p = runServer({ DATABASE_URL: databaseUrl(db), MASTER_KEY, SECRET_KEY, ...env }, { cwd });
  await waitForOutput(p, (out) => out.includes('titan-media listening'), 30_000);
  const call: TitanProcess['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.auth ?? MASTER_KEY}` };
    let body: string | Buffer | undefined;
    if (opts.raw) {
      body = opts.raw;
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${p.baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a download): keep the text.
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return Object.assign(p, { call, cwd });
}

/** Creates an account with a full key and a session named `shop`; returns the key. */
export async function newTenant(p: TitanProcess, s3Settings?: unknown): Promise<string> {
  const acc = await p.call('POST', '/admin/accounts', { body: { name: 'acme' } });
  if (acc.status !== 201) throw new Error(`account: ${acc.status} ${JSON.stringify(acc.body)}`);
  const key = await p.call('POST', '/admin/keys', { body: { accountId: acc.body.data.id, label: 't', scopes: ['*'] } });
  if (key.status !== 201) throw new Error(`key: ${key.status} ${JSON.stringify(key.body)}`);
  const k = key.body.data.key as string;
  const s = await p.call('POST', '/api/sessions', { auth: k, body: { name: 'shop' } });
  if (s.status !== 201) throw new Error(`session: ${s.status} ${JSON.stringify(s.body)}`);
  if (s3Settings) {
    const put = await p.call('PUT', '/api/account/settings', { auth: k, body: s3Settings });
    if (put.status !== 200) throw new Error(`settings: ${put.status} ${JSON.stringify(put.body)}`);
  }
  return k;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function until<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
