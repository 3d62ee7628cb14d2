import type { Logger } from 'pino';
import type { Clock } from '../clock.js';

// Housekeeping is cheap but not free: often enough that retention holds to within minutes.
const PRUNE_EVERY_MS = 10 * 60_000;

export interface WorkerOptions<T> {
  name: string;
  options: {
    /** Items running at once, at most. */
    concurrency: number;
    /** How often to look for due work when nobody called `wake()`. */
    pollIntervalMs: number;
    /** What outlived this (ms) is pruned. */
    retentionMs: number;
  };
  /** Claims up to `limit` due items (with a lease, so other processes skip them). */
  claim(limit: number): Promise<T[]>;
  /** Runs one claimed item; must record its outcome or release its lease itself. */
  run(item: T): Promise<void>;
  /** Deletes what was last touched before `before` (ISO), run before a claim every ten minutes. */
  prune?: { what: string; run: (before: string) => Promise<unknown> };
  /**
   * Running items get this long to finish after `stop()`; then `signal` aborts them. Zero (the
   * default) aborts them at once.
   */
  stopGraceMs?: number;
  clock: Clock;
  logger: Logger;
}

export interface Worker {
  start: () => void;
  /** Look for work now (e.g. right after a transaction that queued some committed). */
  wake: () => void;
  /** Stops claiming, aborts `signal` after the grace, and resolves once every running item has settled. */
  stop: () => Promise<void>;
  /** Items running now. */
  readonly running: number;
  /** Whether `stop()` was called: an item cut short then gives its work back. */
  readonly stopping: boolean;
  /** Aborted when running items must stop (the grace after `stop()` ran out). */
  readonly signal: AbortSignal;
}

/**
 * A polling claim loop with bounded concurrency, pruning and a graceful stop: the shape of the
 * webhook dispatcher and the auto-persist job runner. Claims happen only when a slot is free,
 * so a process never holds leases on work it is not doing.
 */
export function createWorker<T>(o: WorkerOptions<T>): Worker {
  const inflight = new Set<Promise<void>>();
  const abort = new AbortController();
  let active = false;
  let stopping = false;
  let lastPrune = 0;
  let loopDone: Promise<void> = Promise.resolve();
  // A wake that arrives while the loop is busy is remembered, never lost.
  let woken = false;
  let interrupt: (() => void) | null = null;
  // Under load, claim in batches (a claim per finished item would double the queries).
  const { concurrency, pollIntervalMs, retentionMs } = o.options;
  const minBatch = Math.max(1, Math.ceil(concurrency / 4));

  function wake() {
    woken = true;
    interrupt?.();
  }

  function pause(ms: number): Promise<void> {
    if (woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        interrupt = null;
        resolve();
      }
      interrupt = done;
    });
  }

  async function prune() {
    if (!o.prune) return;
    const now = o.clock.now().getTime();
    if (now - lastPrune <= PRUNE_EVERY_MS) return;
    lastPrune = now;
    await o.prune
      .run(new Date(now - retentionMs).toISOString())
      .catch((err: unknown) => o.logger.warn({ err, worker: o.name }, `could not prune ${o.prune?.what ?? ''}`));
  }

  async function loop() {
    while (active) {
      woken = false;
      const free = concurrency - inflight.size;
      let claimed = 0;
      if (free > 0 && (free >= minBatch || inflight.size === 0)) {
        try {
          await prune();
          const items = await o.claim(free);
          claimed = items.length;
          for (const item of items) {
            const p: Promise<void> = o
              .run(item)
              .catch((err: unknown) => o.logger.error({ err, worker: o.name }, 'worker item failed'))
              .finally(() => {
                inflight.delete(p);
                wake();
              });
            inflight.add(p);
          }
        } catch (err) {
          if (active) o.logger.error({ err, worker: o.name }, 'worker could not claim work');
        }
      }
      // A full batch suggests more is due: look again as soon as a slot is free.
      if (claimed > 0 && claimed === free && inflight.size < concurrency) continue;
      if (active) await pause(pollIntervalMs);
    }
  }

  return {
    start() {
      if (active) return;
      active = true;
      loopDone = loop();
    },
    wake,
    async stop() {
      active = false;
      stopping = true;
      interrupt?.();
      const reason = new Error('The server is shutting down.');
      const grace = o.stopGraceMs ?? 0;
      const timer = grace > 0 ? setTimeout(() => abort.abort(reason), grace) : null;
      if (!timer) abort.abort(reason);
      await loopDone;
      await Promise.allSettled([...inflight]);
      if (timer) clearTimeout(timer);
    },
    get running() {
      return inflight.size;
    },
    get stopping() {
      return stopping;
    },
    signal: abort.signal,
  };
}
