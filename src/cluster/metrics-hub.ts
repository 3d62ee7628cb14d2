import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { WorkerMessage } from './messages.js';

/** How long a scrape waits for every worker's series before it fails (503). */
const COLLECT_TIMEOUT_MS = 5_000;

interface Collection {
  waiting: Set<Worker>;
  series: object[][];
  timer: NodeJS.Timeout;
  done(err: Error | null): void;
}

/**
 * The primary's side of `/metrics`: a worker that takes a scrape asks here, every worker that
 * is up sends its registry as JSON, and prom-client's AggregatorRegistry merges them by each
 * series' aggregator (sum unless the series says otherwise: database gauges take the max, the
 * build info the first). The primary adds its own two series about the workers.
 */
export function createMetricsHub(opts: { workers: () => Worker[] }) {
  const own = new Registry();
  const registers = [own];
  new Gauge({
    name: 'titan_workers',
    help: 'Worker processes up and listening (WORKERS)',
    registers,
    collect() {
      this.set(opts.workers().length);
    },
  });
  const restarts = new Counter({
    name: 'titan_worker_restarts_total',
    help: 'Workers started again after one exited unexpectedly',
    registers,
  });
  const collections = new Map<number, Collection>();
  let nextId = 0;

  function collect(): Promise<string> {
    const id = nextId++;
    const workers = opts.workers();
    return new Promise((resolve, reject) => {
      const c: Collection = {
        waiting: new Set(workers),
        series: [],
        timer: setTimeout(
          () => c.done(new Error(`${c.waiting.size} worker(s) did not answer within ${COLLECT_TIMEOUT_MS} ms`)),
          COLLECT_TIMEOUT_MS,
        ),
        done(err) {
          clearTimeout(c.timer);
          collections.delete(id);
          if (err) return reject(err);
          own
            .getMetricsAsJSON()
            .then((mine) => resolve(AggregatorRegistry.aggregate([...c.series, mine]).metrics()), reject);
        },
      };
      collections.set(id, c);
      for (const w of workers) w.send({ type: 'titan:collect', id });
      if (workers.length === 0) c.done(null);
    });
  }

  return {
    restarted: () => restarts.inc(),
    /** Handles the metrics messages of `worker`; returns false for any other message. */
    onMessage(worker: Worker, m: WorkerMessage): boolean {
      if (m.type === 'titan:scrape') {
        collect().then(
          (text) => worker.isConnected() && worker.send({ type: 'titan:scraped', id: m.id, text }),
          (err: Error) => worker.isConnected() && worker.send({ type: 'titan:scraped', id: m.id, error: err.message }),
        );
        return true;
      }
      if (m.type === 'titan:collected') {
        const c = collections.get(m.id);
        if (!c || !c.waiting.delete(worker)) return true;
        if ('error' in m) c.done(new Error(`worker ${worker.process.pid}: ${m.error}`));
        else {
          c.series.push(m.metrics);
          if (c.waiting.size === 0) c.done(null);
        }
        return true;
      }
      return false;
    },
    /** A worker that exited answers no more: its series are left out of collections under way. */
    gone(worker: Worker) {
      for (const c of collections.values()) if (c.waiting.delete(worker) && c.waiting.size === 0) c.done(null);
    },
  };
}
