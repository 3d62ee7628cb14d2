import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkLogLine } from './log-lines.js';

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  baseUrl: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs `src/main.ts` as a real process in a fresh working directory (its own ./data). */
export function runServer(env: Record<string, string>, opts: { cwd?: string } = {}): ServerProcess {
  const cwd = opts.cwd ?? mkdtempSync(join(tmpdir(), 'titan-proc-'));
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href, join(ROOT, 'src/main.ts')],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // The process's whole stdout is its JSON log (checked line by line once it exits).
  const exited = once(child, 'exit').then(([code]) => {
    for (const l of out.split('\n').filter(Boolean)) checkLogLine(l);
    return code as number | null;
  });
  return {
    child,
    get baseUrl() {
      const m = /"address":"(http:\/\/[^"]+)"/.exec(out);
      if (!m) throw new Error(`server has not reported its address yet:\n${out}\n${err}`);
      return m[1]!;
    },
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

/** Waits until `predicate(stdout)` holds, or fails with the process output. */
export async function waitForOutput(p: ServerProcess, predicate: (out: string) => boolean, timeoutMs = 20_000) {
  const start = Date.now();
  while (!predicate(p.stdout())) {
    if (p.child.exitCode !== null)
      throw new Error(`server exited (${p.child.exitCode}):\n${p.stdout()}\n${p.stderr()}`);
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for server output:\n${p.stdout()}\n${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
