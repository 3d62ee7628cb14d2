import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { isWorkerMessage } from './messages.js';
import { createMetricsHub } from './metrics-hub.js';

export interface ClusterOptions {
  workers: number;
  logger: Logger;
  /** Each worker's grace on shutdown (SHUTDOWN_TIMEOUT_MS); the primary waits a little longer. */
  shutdownTimeoutMs: number;
  /** First delay before a dead worker is replaced; it doubles for each quick death, up to restartMaxMs. */
  restartBaseMs?: number;
  restartMaxMs?: number;
}

/** A worker that lived this long before dying starts again after the first delay. */
const STABLE_MS = 60_000;

interface Slot {
  worker: Worker;
  startedAt: number;
  /** Quick deaths in a row, for the backoff. */
  deaths: number;
  address: string | null;
  timer: NodeJS.Timeout | null;
}

/**
 * The primary of `WORKERS` > 1: forks the workers (which share the listening port through
 * node:cluster), replaces one that dies unexpectedly, forwards SIGTERM/SIGINT to all of them
 * and exits when they have. It serves nothing and runs no background work itself; a worker's
 * `/metrics` asks it for every worker's series (metrics-hub.ts). Resolves once every worker
 * listens, with their address and pids. A worker that dies before all have started stops
 * the cluster, which exits 1.
 */
export function startCluster(opts: ClusterOptions): Promise<{ address: string; pids: number[] }> {
  const { logger } = opts;
  const base = opts.restartBaseMs ?? 500;
  const max = opts.restartMaxMs ?? 30_000;
  // Workers run with the primary's own flags: `npm start`'s V8 flags (scavenge-pacer.ts), and
  // a loader such as tsx when there is one.
  cluster.setupPrimary({ execArgv: process.execArgv });
  const slots: Slot[] = [];
  const up = () => slots.filter((s) => s.address !== null && s.worker.isConnected()).map((s) => s.worker);
  const hub = createMetricsHub({ workers: up });
  let started = false;
  let stopping = false;

  return new Promise((resolve) => {
    const fork = (slot: number, deaths: number) => {
      const worker = cluster.fork();
      slots[slot] = { worker, startedAt: Date.now(), deaths, address: null, timer: null };
      worker.on('message', (m: unknown) => {
        if (!isWorkerMessage(m)) return;
        if (m.type === 'titan:ready') {
          slots[slot]!.address = m.address;
          if (!started && !stopping && slots.length === opts.workers && slots.every((s) => s.address !== null)) {
            started = true;
            resolve({ address: m.address, pids: slots.map((s) => s.worker.process.pid!) });
          }
        } else hub.onMessage(worker, m);
      });
    };

    let exitCode = 0;
    const finish = () => process.exit(exitCode);
    const stop = (signal?: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      if (signal) logger.info({ signal, workers: slots.length }, 'shutting down');
      let alive = 0;
      for (const s of slots) {
        if (s.timer) clearTimeout(s.timer);
        if (s.worker.isDead()) continue;
        alive++;
        if (s.worker.isConnected()) s.worker.send({ type: 'titan:shutdown' });
        else s.worker.process.kill('SIGTERM');
      }
      if (alive === 0) return finish();
      // Each worker exits within its own grace; this only ends a hung one.
      setTimeout(() => {
        exitCode = 1;
        logger.error('workers did not stop in time; killing them');
        for (const s of slots) if (!s.worker.isDead()) s.worker.process.kill('SIGKILL');
      }, opts.shutdownTimeoutMs + 5_000).unref();
    };
    cluster.on('exit', (worker, code, signal) => {
      hub.gone(worker);
      const slot = slots.findIndex((s) => s.worker === worker);
      if (slot === -1) return;
      const s = slots[slot]!;
      s.address = null;
      const pid = worker.process.pid;
      if (stopping) {
        if (code !== 0) {
          exitCode = 1;
          logger.warn({ worker: { pid, code, signal } }, 'worker did not stop cleanly');
        }
        if (slots.every((x) => x.worker.isDead())) finish();
        return;
      }
      if (!started) {
        // Its own error is on stderr already. Restarting would not help (a taken port, a bad
        // database), so stop the others and exit 1 as a single process would.
        logger.error({ worker: { pid, code, signal } }, 'a worker exited during start; stopping');
        exitCode = 1;
        stop();
        return;
      }
      const deaths = Date.now() - s.startedAt >= STABLE_MS ? 0 : s.deaths + 1;
      const restartInMs = Math.min(base * 2 ** Math.max(0, deaths - 1), max);
      logger.error({ worker: { pid, code, signal }, restartInMs }, 'worker exited unexpectedly; starting another');
      s.timer = setTimeout(() => {
        hub.restarted();
        fork(slot, deaths);
      }, restartInMs);
    });

    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.on(signal, () => {
        if (!stopping) return stop(signal);
        // A second signal: stop waiting (as a single process does).
        logger.error({ signal }, 'second signal: killing the workers');
        for (const s of slots) if (!s.worker.isDead()) s.worker.process.kill('SIGKILL');
        exitCode = 1;
      });

    for (let i = 0; i < opts.workers; i++) fork(i, 0);
  });
}
