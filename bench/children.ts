/**
 * Bench child processes: the fake CDN, and forked "parties" (peer, baseline) that talk over IPC
 * (`ready` once warmed up, `go`, then `done`) and stay alive until disconnected, so their VmHWM
 * can be read after the transfer.
 */
import { fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cpuMeter, procMemory, sampleRss, toPlainNode } from './measure.js';

/** Children run on bare node (no TypeScript loader) so their memory is theirs alone. */
export const childEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  // The AWS SDK's notice that its 2027 releases need node 22: noise in the bench output.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return env;
};

export interface Cdn {
  origin: string;
  pid: number;
  stop(): Promise<void>;
}

export const startCdn = (root: string, file: string): Promise<Cdn> =>
  startHttpChild(root, 'bench/cdn-server.ts', [file]);

/** The crypto-free relay (relay-server.ts) in front of `fileUrl`. */
export const startRelay = (root: string, fileUrl: string): Promise<Cdn> =>
  startHttpChild(root, 'bench/relay-server.ts', [fileUrl]);

/** Starts a bench HTTP server script that prints `{"port":N}` once listening. */
async function startHttpChild(root: string, script: string, args: string[]): Promise<Cdn> {
  const child = spawn(process.execPath, [toPlainNode(root, join(root, script)), ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ChildRun<M> {
  done: M;
  /** Wall seconds from `go` to `done`. */
  wall: number;
  /** CPU seconds used during the transfer by the child, then by each of `otherPids`. */
  cpu: number[];
  idleRss: number;
  sampledRss: number;
  peakRss: number;
}

/**
 * Forks `script` (a bench/*.ts child, transpiled for bare node) with `job` as its argument, waits
 * for its `ready`, sends `go` and measures until its next message.
 */
export async function runIpcChild<M>(
  root: string,
  script: string,
  job: unknown,
  otherPids: number[] = [],
): Promise<ChildRun<M>> {
  const child = fork(toPlainNode(root, join(root, script)), [JSON.stringify(job)], {
    execArgv: [],
    env: childEnv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const next = () =>
    Promise.race([
      once(child, 'message').then(([m]) => m as M),
      exited.then(([code]) => Promise.reject(new Error(`${script} exited (${String(code)})`))),
    ]);
  try {
    await next(); // ready
    const idleRss = procMemory(child.pid!, 'VmRSS');
    const sampler = sampleRss(child.pid!);
    const meter = cpuMeter([child.pid!, ...otherPids]);
    child.send('go');
    const done = await next();
    const { wall, used } = meter();
    const sampledRss = sampler.stop();
    return { done, wall, cpu: used, idleRss, sampledRss, peakRss: procMemory(child.pid!, 'VmHWM') };
  } finally {
    if (child.connected) child.disconnect();
    await exited;
  }
}
