import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Store } from '../../src/store/db.js';
import { createTestDb, type Dialect, type TestDb } from './databases.js';
import { checkLogLine } from './log-lines.js';
import { observeResponses } from './observed-responses.js';

export const MASTER_KEY = 'test-master-key-0123456789abcdef';
export const SECRET_KEY = 'test-secret-key-0123456789abcdef';
/** The suite's S3 gateway and proxies listen on loopback: a test deployment allows that. */
export const LOCAL_ADDRESSES = { SESSION_PROXY_ALLOW_PRIVATE_NETWORKS: 'true', S3_ALLOW_PRIVATE_ENDPOINTS: 'true' };

export interface TestApp {
  app: FastifyInstance;
  db: TestDb;
  config: Config;
  /** Every log line the app wrote, as parsed JSON objects and as raw text. */
  logs: { lines: Record<string, unknown>[]; text(): string };
  /** Creates an account and a key with `scopes` through the admin API. */
  newAccount(scopes?: string[]): Promise<{ accountId: string; key: string; auth: { authorization: string } }>;
  /** Creates another key for an existing account through the admin API. */
  newKey(
    accountId: string,
    scopes: string[],
    extra?: Record<string, unknown>,
  ): Promise<{ id: string; key: string; auth: { authorization: string } }>;
  close(): Promise<void>;
}

/** Extra dependencies (test adapters), and a database shared with another app ("process"). */
export interface TestAppOptions {
  deps?: Partial<Omit<AppDeps, 'config' | 'store' | 'logger'>>;
  /** Run on this database through a store of its own (`reopen()`); it outlives the app. */
  shared?: TestDb;
  /** That store, when the test wants a hand on it (e.g. to cut it off). */
  store?: Store;
}

/**
 * The real app on a fresh database of `dialect`, configured like a test deployment.
 * `env` overrides environment variables (as strings, exactly as a user would set them).
 */
export async function buildTestApp(
  dialect: Dialect,
  env: Record<string, string> = {},
  before?: (app: FastifyInstance) => void,
  opts: TestAppOptions = {},
): Promise<TestApp> {
  const db = opts.shared ?? (await createTestDb(dialect));
  const store = opts.store ?? (opts.shared ? opts.shared.reopen() : db.store);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    MASTER_KEY,
    SECRET_KEY,
    ...LOCAL_ADDRESSES,
    ...env,
  });
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const s = chunk.toString();
      raw += s;
      for (const l of s.split('\n').filter(Boolean)) {
        const parsed = checkLogLine(l);
        if (parsed) lines.push(parsed);
      }
      cb();
    },
  });
  const logger = createLogger(config.logLevel, { pretty: false, destination: sink });
  const app = await buildApp({ ...opts.deps, config, store, logger });
  observeResponses(app);
  before?.(app);
  await app.ready();

  const admin = { authorization: `Bearer ${MASTER_KEY}` };
  async function newKey(accountId: string, scopes: string[], extra: Record<string, unknown> = {}) {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/keys',
      headers: admin,
      payload: { accountId, label: 'test', scopes, ...extra },
    });
    if (res.statusCode !== 201) throw new Error(`key creation failed: ${res.statusCode} ${res.body}`);
    const { id, key } = res.json<{ data: { id: string; key: string } }>().data;
    return { id, key, auth: { authorization: `Bearer ${key}` } };
  }
  return {
    app,
    db,
    config,
    logs: { lines, text: () => raw },
    newKey,
    async newAccount(scopes = ['*']) {
      const res = await app.inject({
        method: 'POST',
        url: '/admin/accounts',
        headers: admin,
        payload: { name: 'acme' },
      });
      if (res.statusCode !== 201) throw new Error(`account creation failed: ${res.statusCode} ${res.body}`);
      const accountId = res.json<{ data: { id: string } }>().data.id;
      const k = await newKey(accountId, scopes);
      return { accountId, key: k.key, auth: k.auth };
    },
    async close() {
      await app.close();
      if (!opts.shared) await db.destroy();
    },
  };
}
