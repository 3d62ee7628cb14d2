import { Counter, Histogram, type Registry } from 'prom-client';

export const TRANSFER_KINDS = ['download', 'range', 'bucket-read', 'persist', 'auto-persist'] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

export const TRANSFER_OUTCOMES = [
  'completed',
  'client_gone',
  'integrity_failed',
  'cdn_failed',
  'expired',
  'storage_failed',
  'aborted_shutdown',
  'too_large',
  'busy',
  'rejected',
  'failed',
] as const;
export type TransferOutcome = (typeof TRANSFER_OUTCOMES)[number];

export const BYTE_DIRECTIONS = ['cdn_in', 'client_out', 's3_out', 's3_in'] as const;
export type ByteDirection = (typeof BYTE_DIRECTIONS)[number];

export type S3Outcome = 'ok' | 'client_error' | 'server_error' | 'network_error' | 'aborted';

const MIB = 1024 * 1024;
/** Media run from a few KiB to a few GiB and from milliseconds to tens of minutes. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
export const SIZE_BUCKETS = [
  64 * 1024,
  256 * 1024,
  MIB,
  4 * MIB,
  16 * MIB,
  64 * MIB,
  256 * MIB,
  1024 * MIB,
  2048 * MIB,
  4096 * MIB,
];

/** Series of the media path: transfers, bytes by direction, CDN retries and S3 requests. */
export function createMediaMetrics(registry: Registry) {
  const registers = [registry];
  const bytes = new Counter({
    name: 'titan_media_bytes_total',
    help: 'Media bytes moved, by direction: cdn_in (encrypted, from the WhatsApp CDN), client_out (to HTTP clients), s3_out (uploaded), s3_in (read from buckets)',
    labelNames: ['direction'] as const,
    registers,
  });
  const transfers = new Counter({
    name: 'titan_media_transfers_total',
    help: 'Media transfers that ended, by kind (download, range, bucket-read, persist, auto-persist) and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'titan_media_transfer_duration_seconds',
    help: 'Duration of media transfers that ended, by kind',
    labelNames: ['kind'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const size = new Histogram({
    name: 'titan_media_transfer_size_bytes',
    help: 'Bytes delivered by completed media transfers (to the client or the bucket), by kind',
    labelNames: ['kind'] as const,
    buckets: SIZE_BUCKETS,
    registers,
  });
  const cdnRetries = new Counter({
    name: 'titan_cdn_retries_total',
    help: 'CDN requests repeated after a failure before their body began (network error, 5xx, 429)',
    registers,
  });
  const cdnResumes = new Counter({
    name: 'titan_cdn_resumes_total',
    help: 'CDN bodies cut midway and continued with a Range request',
    registers,
  });
  const s3Requests = new Counter({
    name: 'titan_s3_requests_total',
    help: 'S3 requests by operation (PutObject, UploadPart, …) and outcome: ok, client_error (4xx), server_error (5xx), network_error, aborted',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const s3Seconds = new Histogram({
    name: 'titan_s3_request_duration_seconds',
    help: 'S3 request latency by operation, SDK retries included',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  for (const d of BYTE_DIRECTIONS) bytes.inc({ direction: d }, 0);
  for (const k of TRANSFER_KINDS)
    for (const o of ['completed', 'client_gone', 'integrity_failed', 'cdn_failed', 'storage_failed'] as const)
      transfers.inc({ kind: k, outcome: o }, 0);

  return {
    bytes(direction: ByteDirection, n: number) {
      if (n > 0) bytes.inc({ direction }, n);
    },
    transferEnded(kind: TransferKind, outcome: TransferOutcome, seconds: number, delivered: number) {
      transfers.inc({ kind, outcome });
      duration.observe({ kind }, seconds);
      if (outcome === 'completed') size.observe({ kind }, delivered);
    },
    cdnRetry(kind: 'retry' | 'resume') {
      (kind === 'retry' ? cdnRetries : cdnResumes).inc();
    },
    s3Request(operation: string, outcome: S3Outcome, seconds: number) {
      s3Requests.inc({ operation, outcome });
      s3Seconds.observe({ operation }, seconds);
    },
  };
}

export type MediaMetrics = ReturnType<typeof createMediaMetrics>;
