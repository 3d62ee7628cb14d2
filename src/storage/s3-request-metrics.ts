import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Outcome } from '../metrics/media-metrics.js';

/** Where the S3 clients report each request: its operation, outcome, latency and bytes sent. */
export interface S3Observer {
  s3Request(operation: string, outcome: S3Outcome, seconds: number): void;
  bytes(direction: 's3_out', n: number): void;
}

/** Adds a middleware that times every command, the SDK's own retries included. */
export function observeS3Requests(client: S3Client, observer: S3Observer): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const out = await next(args);
        // Presigning a URL runs the same stack but sends nothing.
        if ((out.output as { presigned?: unknown }).presigned !== undefined) return out;
        observer.s3Request(operation, 'ok', seconds());
        const sent = (args.input as { ContentLength?: unknown }).ContentLength;
        if (typeof sent === 'number') observer.bytes('s3_out', sent);
        return out;
      } catch (err) {
        observer.s3Request(operation, outcomeOf(err), seconds());
        throw err;
      }
    },
    { step: 'initialize', name: 'titanRequestMetrics' },
  );
}

function outcomeOf(err: unknown): S3Outcome {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'AbortError') return 'aborted';
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined) return 'network_error';
  return status >= 500 ? 'server_error' : 'client_error';
}
