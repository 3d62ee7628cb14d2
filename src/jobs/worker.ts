import type { Logger } from 'pino';

export interface WorkerOptions<T> {
  name: string;
  /** Items running at once, at most. */
  concurrency: number;
  /** How often to look for due work when nobody called `wake()`. */
  pollIntervalMs: number;
  /** Claims up to `limit` due items (with a lease, so other processes skip them). */
  claim(limit: number): Promise<T[]>;
  /** Runs one claimed item; must record its outcome or release its lease itself. */
  run(item: T): Promise<void>;
  logger: Logger;
}

export interface Worker {
  start: () => void;
  /** Look for work now (e.g. right after a transaction that queued some committed). */
  wake: () => void;
  /** Stops claiming and resolves once every running item has settled. */
  stop: () => Promise<void>;
  /** Items running now. */
  readonly running: number;
}

/**
 * A polling claim loop with bounded concurrency: the shape shared by the webhook dispatcher and
 * the auto-persist job runner. Claims happen only when a slot is free, so a process never
 * holds leases on work it is not doing.
 */
export function createWorker<T>(o: WorkerOptions<T>): Worker {
  const inflight = new Set<Promise<void>>();
  let active = false;
  let loopDone: Promise<void> = Promise.resolve();
  // A wake that arrives while the loop is busy is remembered, never lost.
  let woken = false;
  let interrupt: (() => void) | null = null;
  // Under load, claim in batches (a claim per finished item would double the queries).
  const minBatch = Math.max(1, Math.ceil(o.concurrency / 4));

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

  async function loop() {
    while (active) {
      woken = false;
      const free = o.concurrency - inflight.size;
      let claimed = 0;
      if (free > 0 && (free >= minBatch || inflight.size === 0)) {
        try {
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
      if (claimed > 0 && claimed === free && inflight.size < o.concurrency) continue;
      if (active) await pause(o.pollIntervalMs);
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
      interrupt?.();
      await loopDone;
      await Promise.allSettled([...inflight]);
    },
    get running() {
      return inflight.size;
    },
  };
}
