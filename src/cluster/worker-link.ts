import type { Registry } from 'prom-client';
import { ServiceUnavailableError } from '../errors.js';
import type { MetricsSource } from '../http/metrics.js';
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

/** Longer than the primary's own wait for its workers (metrics-hub.ts), so its error wins. */
const SCRAPE_TIMEOUT_MS = 10_000;

/** A cluster worker's side of the IPC channel to its primary (primary.ts). */
export interface WorkerLink {
  /**
   * `registry`'s series are sent to the primary when it collects, and `/metrics` answers with
   * every worker's series aggregated, so a scrape shows the server, whichever worker took it.
   */
  metricsOf: (registry: Registry) => MetricsSource;
  /** Tells the primary this worker listens at `address`. */
  ready: (address: string) => void;
  /** `stop` runs when the primary forwards a shutdown, or when the primary is gone. */
  onShutdown: (stop: () => void) => void;
}

export function joinCluster(): WorkerLink {
  const send = (m: WorkerMessage) => {
    // The channel is gone once the primary died; the disconnect handler stops this worker.
    if (process.connected) process.send?.(m);
  };
  const scrapes = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let nextScrape = 0;
  let registry: Registry | null = null;
  const stops: (() => void)[] = [];
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const s of stops) s();
  };

  process.on('message', (m: unknown) => {
    if (!isPrimaryMessage(m)) return;
    handle(m);
  });
  // An orphan must not go on serving: the primary was killed, or exited without us.
  process.on('disconnect', stop);

  function handle(m: PrimaryMessage) {
    if (m.type === 'titan:shutdown') stop();
    else if (m.type === 'titan:collect') {
      const id = m.id;
      if (!registry) return send({ type: 'titan:collected', id, error: 'this worker has no metrics yet' });
      registry.getMetricsAsJSON().then(
        (metrics) => send({ type: 'titan:collected', id, metrics }),
        (err: unknown) => send({ type: 'titan:collected', id, error: (err as Error).message }),
      );
    } else if (m.type === 'titan:scraped') {
      const pending = scrapes.get(m.id);
      scrapes.delete(m.id);
      if ('error' in m) pending?.reject(new ServiceUnavailableError(`The metrics could not be gathered: ${m.error}`));
      else pending?.resolve(m.text);
    }
  }

  return {
    metricsOf(local) {
      registry = local;
      return {
        contentType: local.contentType,
        metrics() {
          const id = nextScrape++;
          return new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => {
              scrapes.delete(id);
              reject(new ServiceUnavailableError('The metrics could not be gathered: the primary did not answer.'));
            }, SCRAPE_TIMEOUT_MS);
            scrapes.set(id, {
              resolve: (text) => (clearTimeout(timer), resolve(text)),
              reject: (err) => (clearTimeout(timer), reject(err)),
            });
            send({ type: 'titan:scrape', id });
          });
        },
      };
    },
    ready: (address) => send({ type: 'titan:ready', address }),
    // A shutdown that came while the worker was still starting stops it as soon as it can stop.
    onShutdown: (s) => (stopping ? s() : void stops.push(s)),
  };
}
