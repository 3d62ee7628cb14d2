/**
 * Accounting of one media transfer (download, range, bucket read, persist): whatever way it
 * ends, exactly one `transfer` log line and one sample of the transfer series.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ByteDirection, MediaMetrics, TransferKind, TransferOutcome } from '../metrics/media-metrics.js';
import { outcomeOf } from './transfer-outcome.js';

export interface TransferFacts {
  kind: TransferKind;
  mediaId: string;
  session: string;
  accountId: string;
  /** The HTTP request it serves, or the auto-persist job that runs it. */
  requestId?: string | undefined;
  jobId?: string | undefined;
  /** Whether the session has a proxy; refined once the CDN body is open (our own origins are fetched directly). */
  throughProxy?: boolean;
}

/** What a CDN body reports as it goes (cdn-client.ts). */
export interface SourceProgress {
  readonly bytesReceived: number;
  readonly resumes: number;
}

export interface TransferAccount {
  /**
   * The source once open: a CDN body (its bytes are the source bytes; `kind` then corrects a
   * guessed `bucket-read` for persisted media whose account has no bucket now), or null for a
   * bucket read (its bytes are counted by `deliver` with `fromSource`).
   */
  opened(source: { progress: SourceProgress; throughProxy: boolean } | null, kind?: TransferKind): void;
  /**
   * Counts the bytes read from `body` (also in the `directions` byte series) and ends the
   * account when it closes: completed once it ended, else by its error,
   * or `client_gone` when `clientGone` aborted first. With `ends: false` it only counts (a
   * persist ends when the bucket confirmed the object, not when the last byte was read).
   */
  deliver(
    body: Readable,
    opts: { directions: ByteDirection[]; fromSource?: boolean; clientGone?: AbortSignal; ends?: boolean },
  ): Readable;
  /** Ends with `completed`, or with the outcome of `err`; only the first call counts. */
  end(err?: unknown, outcome?: TransferOutcome): void;
}

const ROUTINE = new Set<TransferOutcome>(['completed', 'client_gone', 'busy', 'too_large', 'rejected']);

export type TransferAccounts = ReturnType<typeof createTransferAccounts>;

export function createTransferAccounts(deps: { metrics: MediaMetrics; logger: Logger; shuttingDown: () => boolean }) {
  return {
    start(facts: TransferFacts): TransferAccount {
      const started = performance.now();
      let kind = facts.kind;
      let source: SourceProgress | null = null;
      let throughProxy = facts.throughProxy ?? false;
      let fromSourceBytes = 0;
      let delivered = 0;
      let ended = false;

      function end(err?: unknown, given?: TransferOutcome) {
        if (ended) return;
        ended = true;
        const outcome = given ?? (err === undefined ? 'completed' : outcomeOf(err, deps.shuttingDown()));
        const seconds = (performance.now() - started) / 1000;
        deps.metrics.transferEnded(kind, outcome, seconds, delivered);
        const code = err === undefined ? undefined : ((err as { code?: unknown }).code as string | undefined);
        const line = {
          transfer: kind,
          outcome,
          ...(code ? { code } : {}),
          mediaId: facts.mediaId,
          session: facts.session,
          accountId: facts.accountId,
          ...(facts.requestId ? { reqId: facts.requestId } : {}),
          ...(facts.jobId ? { jobId: facts.jobId } : {}),
          bytesIn: source?.bytesReceived ?? fromSourceBytes,
          bytesOut: delivered,
          ms: Math.round(seconds * 1000),
          throughProxy,
          resumes: source?.resumes ?? 0,
        };
        // Ends that are the client's doing or a limit working as meant are not problems: their code says enough.
        if (ROUTINE.has(outcome) || err === undefined) deps.logger.info(line, 'transfer');
        else deps.logger.warn({ ...line, err }, 'transfer');
      }

      return {
        opened(from, cdnKind) {
          if (from === null) {
            kind = 'bucket-read';
            throughProxy = false;
            return;
          }
          source = from.progress;
          throughProxy = from.throughProxy;
          if (cdnKind) kind = cdnKind;
        },
        deliver(body, opts) {
          const directions = opts.directions;
          const fromSource = opts.fromSource === true;
          // Counted as the chunks leave the body, whoever reads it: no stream in between.
          // Paused first, so that observing does not start the flow before the consumer reads.
          body.pause();
          body.on('data', (chunk: Buffer) => {
            const n = chunk.length;
            delivered += n;
            if (fromSource) fromSourceBytes += n;
            for (const d of directions) deps.metrics.bytes(d, n);
          });
          if (opts.ends !== false) {
            let failure: unknown;
            body.once('error', (err) => (failure ??= err));
            body.once('end', () => end());
            body.once('close', () => {
              if (opts.clientGone?.aborted) end(opts.clientGone.reason, 'client_gone');
              else end(failure ?? new Error('The transfer stopped before its end.'));
            });
          }
          return body;
        },
        end,
      };
    },
  };
}
