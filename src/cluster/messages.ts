/**
 * What the primary and its workers say to each other over the cluster's IPC channel. Every
 * type is prefixed so that prom-client's or Node's own cluster messages are never mistaken.
 */
export type WorkerMessage =
  /** The worker listens: its app is built and it answers metric collections. */
  | { type: 'titan:ready'; address: string }
  /** A scrape reached this worker: the primary is asked for every worker's series. */
  | { type: 'titan:scrape'; id: number }
  /** This worker's series, for collection `id` of the primary. */
  | { type: 'titan:collected'; id: number; metrics: object[] }
  | { type: 'titan:collected'; id: number; error: string };

export type PrimaryMessage =
  /** Stop as on SIGTERM: refuse new work, let downloads finish, exit. */
  | { type: 'titan:shutdown' }
  /** Send this worker's series (registry.getMetricsAsJSON()) back as collection `id`. */
  | { type: 'titan:collect'; id: number }
  /** The answer to scrape `id`: the aggregated text, or why there is none. */
  | { type: 'titan:scraped'; id: number; text: string }
  | { type: 'titan:scraped'; id: number; error: string };

const isMessage = (m: unknown): m is { type: string } =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';

export const isWorkerMessage = (m: unknown): m is WorkerMessage => isMessage(m) && m.type.startsWith('titan:');
export const isPrimaryMessage = (m: unknown): m is PrimaryMessage => isMessage(m) && m.type.startsWith('titan:');
