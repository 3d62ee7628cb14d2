/** Our server as a child process: build, start, provision a key, session and media message, stop. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EncryptedMediaFile } from './crypto-ceiling.js';
import { freePort } from './measure.js';

/** The media the CDN serves, as a message describes it. */
export interface BenchMedia {
  url: string;
  mediaKey: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
  fileLength: number;
  mimetype: string;
}

/** The message fields for `media` served by the CDN at `origin`. */
export const benchMedia = (media: EncryptedMediaFile, origin: string): BenchMedia => ({
  url: `${origin}/v/t62.7161-24/bench-${media.plainLength}.enc`,
  mediaKey: media.mediaKey,
  fileSha256: media.fileSha256,
  fileEncSha256: media.fileEncSha256,
  fileLength: media.plainLength,
  mimetype: 'video/mp4',
});

export interface RunningServer {
  pid: number;
  baseUrl: string;
  /** `Authorization` header of a full-scope key, created at start. */
  auth: string;
  stop(): Promise<void>;
}

/** Newest modification time of the files under `dir`. */
function newestMtime(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

/**
 * Builds `dist/` with `tsc -p tsconfig.build.json` when it is missing or older than `src/`, and
 * returns the entry point. Type errors are reported but do not stop the build (tsc still emits).
 */
export function ensureBuilt(root: string): string {
  const entry = join(root, 'dist/main.js');
  const inputs = Math.max(
    newestMtime(join(root, 'src')),
    statSync(join(root, 'tsconfig.build.json')).mtimeMs,
    statSync(join(root, 'tsconfig.json')).mtimeMs,
  );
  if (existsSync(entry) && statSync(entry).mtimeMs >= inputs) return entry;
  process.stdout.write('building dist/ (tsc -p tsconfig.build.json)…\n');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    if (!existsSync(entry)) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
    process.stdout.write(
      `warning: tsc reported errors; measuring what it emitted:\n${r.stdout.split('\n').slice(0, 10).join('\n')}\n`,
    );
  }
  return entry;
}

/**
 * Starts `node <entry>` in a fresh working directory (its own SQLite file) on a free port and
 * waits for /healthz. `nodeArgs` go before the entry (e.g. `--cpu-prof`); `env` adds to or
 * overrides the server's environment.
 */
/**
 * The Node flags `npm start` runs the server with (package.json is their one source; the
 * Dockerfile's CMD is checked against it). BENCH_START_FLAGS=0 runs the server without them.
 */
export const START_FLAGS: string[] =
  process.env.BENCH_START_FLAGS === '0'
    ? []
    : (
        JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
      ).scripts.start
        .split(/\s+/)
        .filter((arg) => arg.startsWith('--'))
        .concat((process.env.BENCH_EXTRA_FLAGS ?? '').split(' ').filter(Boolean));

export async function startServer(opts: {
  entry: string;
  maxBytes: number;
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** A command the server runs under (e.g. valgrind and its options); it is given the node command line. */
  wrapper?: string[];
}): Promise<RunningServer> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'titan-bench-server-'));
  const masterKey = randomBytes(24).toString('base64url');
  const nodeLine = [process.execPath, ...START_FLAGS, ...(opts.nodeArgs ?? []), opts.entry];
  const [command, ...args] = [...(opts.wrapper ?? []), ...nodeLine] as [string, ...string[]];
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MASTER_KEY: masterKey,
      SECRET_KEY: randomBytes(24).toString('base64url'),
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      MAX_MEDIA_BYTES: String(opts.maxBytes),
      DATABASE_URL: `sqlite:${join(cwd, 'titan.db')}`,
      DATA_DIR: join(cwd, 'data'),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: RunningServer = {
    pid: child.pid!,
    baseUrl,
    auth: '',
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(cwd, { recursive: true, force: true });
    },
  };
  try {
    for (const deadline = Date.now() + (opts.wrapper ? 600_000 : 30_000); ;) {
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
      const ok = await fetch(`${baseUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${output}`);
      await sleep(50);
    }
    server.auth = `Bearer ${await createKey(baseUrl, masterKey)}`;
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

async function call<T>(url: string, auth: string, body: unknown, expect: number): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`POST ${new URL(url).pathname} → ${res.status}: ${text}`);
  return (JSON.parse(text) as { data: T }).data;
}

async function createKey(baseUrl: string, masterKey: string): Promise<string> {
  return (
    await call<{ key: string }>(`${baseUrl}/admin/keys`, `Bearer ${masterKey}`, { label: 'bench', scopes: ['*'] }, 201)
  ).key;
}

/** Creates session `bench`, ingests a video message pointing at `media`, returns the download URL. */
export async function provision(server: RunningServer, media: BenchMedia): Promise<string> {
  await call(`${server.baseUrl}/api/sessions`, server.auth, { name: 'bench' }, 201);
  return ingest(server, media);
}

/** Ingests one more video message (a new media id) into session `bench`; returns its download URL. */
export async function ingest(server: RunningServer, media: BenchMedia): Promise<string> {
  const api = `${server.baseUrl}/api`;
  const now = Math.floor(Date.now() / 1000);
  const message = {
    key: {
      remoteJid: '15550009999@s.whatsapp.net',
      fromMe: false,
      id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
    },
    messageTimestamp: now,
    pushName: 'Bench',
    message: {
      videoMessage: {
        url: media.url,
        mimetype: media.mimetype,
        mediaKey: media.mediaKey.toString('base64'),
        fileSha256: media.fileSha256.toString('base64'),
        fileEncSha256: media.fileEncSha256.toString('base64'),
        fileLength: media.fileLength,
        mediaKeyTimestamp: now,
      },
    },
  };
  const { mediaId } = await call<{ mediaId: string | null }>(
    `${api}/sessions/bench/simulate/message`,
    server.auth,
    message,
    201,
  );
  if (!mediaId) throw new Error('The simulated message recorded no media.');
  return `${api}/sessions/bench/media/${mediaId}/download`;
}
