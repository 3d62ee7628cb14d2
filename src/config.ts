import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { S3Settings } from './storage/s3-settings.js';
import { DEFAULT_CDN_ALLOWLIST, isAllowedOrigin, parseAllowlist } from './media/cdn-allowlist.js';

/**
 * The one place that reads the environment. `loadConfig(env)` parses it with zod, reports
 * every bad variable at once, and returns a frozen, typed config.
 */

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int({ message: 'must be an integer' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` })
    .default(def);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** More workers than this on one machine is a typo, not a deployment. */
const MAX_WORKERS = 256;

const databaseUrl = z
  .string()
  .default('sqlite:./data/titan.db')
  .refine((v) => /^sqlite:.+/.test(v) || /^postgres(ql)?:\/\//.test(v), {
    message: 'must be sqlite:<path> or postgres://user:pass@host:port/db',
  });

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(8080, 0, 65535),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: databaseUrl,
  MASTER_KEY: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  SECRET_KEY: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  PUBLIC_URL: optionalString.refine((v) => v === undefined || URL.canParse(v), { message: 'must be a URL' }),
  BODY_LIMIT_BYTES: int(1_048_576, 1024),
  RATE_LIMIT_MAX: int(600, 1),
  RATE_LIMIT_WINDOW_SECONDS: int(60, 1),
  AUTH_FAILURE_LIMIT: int(20, 1),
  AUTH_FAILURE_WINDOW_SECONDS: int(300, 1, 86_400),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 0),
  WORKERS: z
    .string()
    .trim()
    .default('1')
    .refine((v) => v === 'auto' || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_WORKERS), {
      message: `must be auto or a whole number from 1 to ${MAX_WORKERS}`,
    }),
  KEY_CACHE_TTL_MS: int(2_000, 0, 5_000),
  MAX_MEDIA_BYTES: int(2 * 1024 ** 3, 1),
  MAX_CONCURRENT_TRANSFERS: int(16, 1),
  MAX_CONCURRENT_TRANSFERS_PER_ACCOUNT: int(4, 1),
  PROXY_CONNECT_TIMEOUT_MS: int(10_000, 100, 120_000),
  MEDIA_CDN_BASE_URL: z.string().url({ message: 'must be a URL' }).default('https://mmg.whatsapp.net'),
  MEDIA_CDN_ALLOWLIST: z
    .string()
    .default(DEFAULT_CDN_ALLOWLIST)
    .superRefine((v, ctx) => {
      try {
        parseAllowlist(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  CDN_CONNECT_TIMEOUT_MS: int(10_000, 1),
  CDN_HEADERS_TIMEOUT_MS: int(30_000, 1),
  CDN_BODY_TIMEOUT_MS: int(30_000, 1),
  CDN_MAX_RETRIES: int(3, 0, 10),
  SIMULATOR_ENABLED: bool(false),
  SIMULATOR_RETENTION_HOURS: int(24, 1, 24 * 365),
  DATA_DIR: z.string().min(1).default('./data'),
  S3_ENDPOINT: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: optionalString,
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: bool(false),
  S3_KEY_PREFIX: z.string().default(''),
  S3_PUBLIC_BASE_URL: optionalString.refine((v) => v === undefined || /^https?:\/\//.test(v), {
    message: 'must be an http(s) URL',
  }),
  S3_PUBLIC_ENDPOINT: optionalString.refine((v) => v === undefined || (/^https?:\/\//.test(v) && URL.canParse(v)), {
    message: 'must be an http(s) URL',
  }),
  S3_PRESIGN_EXPIRES_SECONDS: int(3600, 60, 604_800),
  S3_PART_SIZE_BYTES: int(5 * 1024 * 1024, 5 * 1024 * 1024, 5 * 1024 ** 3),
  S3_QUEUE_SIZE: int(4, 1, 64),
  S3_CHECKSUMS: z.enum(['auto', 'on', 'off'], { message: 'must be auto, on or off' }).default('auto'),
  S3_CONNECT_TIMEOUT_MS: int(5_000, 100, 120_000),
  S3_STALL_TIMEOUT_MS: int(30_000, 100, 600_000),
  S3_REQUEST_TIMEOUT_MS: int(600_000, 1_000, 24 * 3_600_000),
  S3_MAX_ATTEMPTS: int(3, 1, 10),
  UPLOAD_LEASE_MS: int(30_000, 300, 3_600_000),
  UPLOAD_SWEEP_INTERVAL_MS: int(60_000, 100, 24 * 3_600_000),
  UPLOAD_STRAY_AGE_MS: int(86_400_000, 1_000, 30 * 86_400_000),
  UPLOAD_SWEEP_DRY_RUN: bool(false),
  SECRET_KEY_PREVIOUS: z.string().default(''),
  MEDIA_REUPLOAD_TIMEOUT_MS: int(20_000, 100, 300_000),
  SESSION_LEASE_MS: int(30_000, 100, 3_600_000),
  SESSION_LEASE_RENEW_MS: int(10_000, 20, 1_800_000),
  SESSION_RECONNECT_BASE_MS: int(1_000, 1, 600_000),
  SESSION_RECONNECT_MAX_MS: int(60_000, 1, 3_600_000),
  SESSION_CONNECT_TIMEOUT_MS: int(20_000, 100, 300_000),
  SESSION_COMMAND_POLL_MS: int(250, 10, 10_000),
  WA_WEBSOCKET_URL: optionalString.refine((v) => v === undefined || (/^wss?:\/\//.test(v) && URL.canParse(v)), {
    message: 'must be a ws:// or wss:// URL',
  }),
  WEBHOOK_ALLOW_HTTP: bool(false),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool(false),
  SESSION_PROXY_ALLOW_PRIVATE_NETWORKS: bool(false),
  S3_ALLOW_PRIVATE_ENDPOINTS: bool(false),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100, 120_000),
  WEBHOOK_CONCURRENCY: int(16, 1, 256),
  WEBHOOK_MIN_RETRY_DELAY_MS: int(1_000, 0, 3_600_000),
  WEBHOOK_LOG_RETENTION_HOURS: int(168, 1, 24 * 365),
  OUTBOX_POLL_INTERVAL_MS: int(1_000, 10, 60_000),
  OUTBOX_LEASE_MS: int(60_000, 1_000, 3_600_000),
  AUTO_PERSIST_CONCURRENCY: int(4, 1, 64),
  AUTO_PERSIST_ATTEMPTS: int(5, 1, 50),
  AUTO_PERSIST_RETRY_DELAY_MS: int(5_000, 0, 3_600_000),
  LIFECYCLE_SWEEP_INTERVAL_MS: int(60_000, 50, 86_400_000),
  LIFECYCLE_BATCH_SIZE: int(200, 1, 5_000),
  MEDIA_KEY_WIPE_GRACE_HOURS: int(24, 0, 24 * 365),
  MEDIA_DELETION_CONCURRENCY: int(4, 1, 64),
});

/** Every environment variable the server reads (the docs test keeps README and .env.example in step). */
export const ENV_VARS = Object.keys(envSchema.shape);

export type Config = Readonly<{
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  logLevel: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  masterKey: string | undefined;
  secretKey: string | undefined;
  publicUrl: string | undefined;
  bodyLimitBytes: number;
  rateLimit: { max: number; windowSeconds: number };
  /** Failed authentications allowed per client address and window before 429s. */
  authFailures: { max: number; windowSeconds: number };
  shutdownTimeoutMs: number;
  /** Server processes sharing the port (node:cluster); 1 = no cluster at all. */
  workers: number;
  keyCacheTtlMs: number;
  media: {
    maxBytes: number;
    maxConcurrentTransfers: number;
    maxConcurrentTransfersPerAccount: number;
    /** TCP connect plus the CONNECT/SOCKS handshake of a session proxy. */
    proxyConnectTimeoutMs: number;
    cdnBaseUrl: string;
    cdnAllowlist: string;
    cdnConnectTimeoutMs: number;
    cdnHeadersTimeoutMs: number;
    cdnBodyTimeoutMs: number;
    cdnMaxRetries: number;
  };
  simulatorEnabled: boolean;
  simulatorRetentionHours: number;
  dataDir: string;
  /** Older SECRET_KEYs still accepted for opening secrets during a rotation. */
  secretKeyPrevious: string[];
  /** The server-wide default bucket (S3_*), for accounts without their own; null when unset. */
  s3Default: S3Settings | null;
  s3Upload: { partSize: number; queueSize: number; checksums: 'auto' | 'on' | 'off' };
  s3Deadlines: { connectTimeoutMs: number; stallTimeoutMs: number; requestTimeoutMs: number; maxAttempts: number };
  /** Uploads recorded in the database: the owner's lease and the sweeper that aborts leftovers. */
  uploads: { leaseMs: number; sweepIntervalMs: number; strayAgeMs: number; dryRun: boolean };
  /** WhatsApp sessions: leases, reconnects, pairing and media re-upload timings. */
  whatsapp: {
    leaseMs: number;
    leaseRenewMs: number;
    reconnectBaseMs: number;
    reconnectMaxMs: number;
    connectTimeoutMs: number;
    commandPollMs: number;
    reuploadTimeoutMs: number;
    /** Replaces WhatsApp's WebSocket endpoint (a mock server); unset: Baileys' default. */
    webSocketUrl: string | undefined;
  };
  webhooks: {
    allowHttp: boolean;
    allowPrivateNetworks: boolean;
    timeoutMs: number;
    concurrency: number;
    minRetryDelayMs: number;
    logRetentionHours: number;
  };
  /** Operator switches of the address policy (src/net/address-policy.ts) for tenant-given addresses. */
  addressPolicy: { proxyAllowPrivateNetworks: boolean; s3AllowPrivateEndpoints: boolean };
  /** The durable outbox's workers (webhook dispatcher, auto-persist jobs). */
  outbox: { pollIntervalMs: number; leaseMs: number };
  autoPersist: { concurrency: number; attempts: number; retryDelayMs: number };
  /** The media lifecycle sweep (persist before expiry, key wipe, retention) and object deletions. */
  lifecycle: { sweepIntervalMs: number; batchSize: number; keyWipeGraceMs: number; deletionConcurrency: number };
}>;

/** Raised when the environment is invalid; `problems` names each bad variable and why. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses `env` (normally `process.env`) into a frozen Config or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.NODE_ENV === 'production' && !e.MASTER_KEY) {
    problems.push('MASTER_KEY: is required when NODE_ENV=production');
  }
  if (e.NODE_ENV === 'production' && !e.SECRET_KEY) {
    problems.push('SECRET_KEY: is required when NODE_ENV=production (it encrypts secrets at rest)');
  }
  if (!e.S3_BUCKET && (e.S3_ENDPOINT || e.S3_ACCESS_KEY_ID || e.S3_PUBLIC_ENDPOINT)) {
    problems.push('S3_BUCKET: is required when other S3_* variables are set');
  }
  if (!isAllowedOrigin(new URL(e.MEDIA_CDN_BASE_URL), parseAllowlist(e.MEDIA_CDN_ALLOWLIST))) {
    problems.push('MEDIA_CDN_BASE_URL: its origin must be on MEDIA_CDN_ALLOWLIST');
  }
  if (e.OUTBOX_LEASE_MS <= e.WEBHOOK_TIMEOUT_MS) {
    problems.push('OUTBOX_LEASE_MS: must be longer than WEBHOOK_TIMEOUT_MS (a claim must outlast an attempt)');
  }
  if (e.SESSION_LEASE_RENEW_MS * 2 > e.SESSION_LEASE_MS) {
    problems.push(
      'SESSION_LEASE_RENEW_MS: must be at most half of SESSION_LEASE_MS (a lease must survive a missed renewal)',
    );
  }
  const database = databaseOf(e.DATABASE_URL);
  const workers = e.WORKERS === 'auto' ? availableParallelism() : Number(e.WORKERS);
  // Several processes on one SQLite file fail deferred transactions with SQLITE_BUSY_SNAPSHOT
  // and block whole event loops in the busy wait (docs/decisions.md): PostgreSQL only.
  if (database.kind === 'sqlite' && (e.WORKERS === 'auto' || workers > 1)) {
    problems.push(
      `WORKERS: ${e.WORKERS} needs PostgreSQL (DATABASE_URL=postgres://…); SQLite is for one process, so leave WORKERS at 1`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    database,
    masterKey: e.MASTER_KEY,
    secretKey: e.SECRET_KEY,
    publicUrl: e.PUBLIC_URL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    rateLimit: { max: e.RATE_LIMIT_MAX, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS },
    authFailures: { max: e.AUTH_FAILURE_LIMIT, windowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workers,
    keyCacheTtlMs: e.KEY_CACHE_TTL_MS,
    media: {
      maxBytes: e.MAX_MEDIA_BYTES,
      maxConcurrentTransfers: e.MAX_CONCURRENT_TRANSFERS,
      maxConcurrentTransfersPerAccount: Math.min(e.MAX_CONCURRENT_TRANSFERS_PER_ACCOUNT, e.MAX_CONCURRENT_TRANSFERS),
      proxyConnectTimeoutMs: e.PROXY_CONNECT_TIMEOUT_MS,
      cdnBaseUrl: e.MEDIA_CDN_BASE_URL,
      cdnAllowlist: e.MEDIA_CDN_ALLOWLIST,
      cdnConnectTimeoutMs: e.CDN_CONNECT_TIMEOUT_MS,
      cdnHeadersTimeoutMs: e.CDN_HEADERS_TIMEOUT_MS,
      cdnBodyTimeoutMs: e.CDN_BODY_TIMEOUT_MS,
      cdnMaxRetries: e.CDN_MAX_RETRIES,
    },
    simulatorEnabled: e.SIMULATOR_ENABLED,
    simulatorRetentionHours: e.SIMULATOR_RETENTION_HOURS,
    dataDir: e.DATA_DIR,
    secretKeyPrevious: e.SECRET_KEY_PREVIOUS.split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    s3Default: e.S3_BUCKET
      ? {
          endpoint: e.S3_ENDPOINT ?? null,
          region: e.S3_REGION,
          bucket: e.S3_BUCKET,
          accessKeyId: e.S3_ACCESS_KEY_ID ?? null,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? null,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          keyPrefix: e.S3_KEY_PREFIX,
          publicBaseUrl: e.S3_PUBLIC_BASE_URL ?? null,
          presignEndpoint: e.S3_PUBLIC_ENDPOINT ?? null,
          presignExpiresSeconds: e.S3_PRESIGN_EXPIRES_SECONDS,
        }
      : null,
    s3Upload: { partSize: e.S3_PART_SIZE_BYTES, queueSize: e.S3_QUEUE_SIZE, checksums: e.S3_CHECKSUMS },
    s3Deadlines: {
      connectTimeoutMs: e.S3_CONNECT_TIMEOUT_MS,
      stallTimeoutMs: e.S3_STALL_TIMEOUT_MS,
      requestTimeoutMs: e.S3_REQUEST_TIMEOUT_MS,
      maxAttempts: e.S3_MAX_ATTEMPTS,
    },
    uploads: {
      leaseMs: e.UPLOAD_LEASE_MS,
      sweepIntervalMs: e.UPLOAD_SWEEP_INTERVAL_MS,
      strayAgeMs: e.UPLOAD_STRAY_AGE_MS,
      dryRun: e.UPLOAD_SWEEP_DRY_RUN,
    },
    whatsapp: {
      leaseMs: e.SESSION_LEASE_MS,
      leaseRenewMs: e.SESSION_LEASE_RENEW_MS,
      reconnectBaseMs: e.SESSION_RECONNECT_BASE_MS,
      reconnectMaxMs: Math.max(e.SESSION_RECONNECT_MAX_MS, e.SESSION_RECONNECT_BASE_MS),
      connectTimeoutMs: e.SESSION_CONNECT_TIMEOUT_MS,
      commandPollMs: e.SESSION_COMMAND_POLL_MS,
      reuploadTimeoutMs: e.MEDIA_REUPLOAD_TIMEOUT_MS,
      webSocketUrl: e.WA_WEBSOCKET_URL,
    },
    webhooks: {
      allowHttp: e.WEBHOOK_ALLOW_HTTP,
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      minRetryDelayMs: e.WEBHOOK_MIN_RETRY_DELAY_MS,
      logRetentionHours: e.WEBHOOK_LOG_RETENTION_HOURS,
    },
    addressPolicy: {
      proxyAllowPrivateNetworks: e.SESSION_PROXY_ALLOW_PRIVATE_NETWORKS,
      s3AllowPrivateEndpoints: e.S3_ALLOW_PRIVATE_ENDPOINTS,
    },
    outbox: { pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS, leaseMs: e.OUTBOX_LEASE_MS },
    autoPersist: {
      concurrency: e.AUTO_PERSIST_CONCURRENCY,
      attempts: e.AUTO_PERSIST_ATTEMPTS,
      retryDelayMs: e.AUTO_PERSIST_RETRY_DELAY_MS,
    },
    lifecycle: {
      sweepIntervalMs: e.LIFECYCLE_SWEEP_INTERVAL_MS,
      batchSize: e.LIFECYCLE_BATCH_SIZE,
      keyWipeGraceMs: e.MEDIA_KEY_WIPE_GRACE_HOURS * 3_600_000,
      deletionConcurrency: e.MEDIA_DELETION_CONCURRENCY,
    },
  });
}

function databaseOf(url: string): Config['database'] {
  return url.startsWith('sqlite:') ? { kind: 'sqlite', path: url.slice('sqlite:'.length) } : { kind: 'postgres', url };
}

/**
 * Only the database (DATABASE_URL, validated as the server does): all the admin command line
 * needs, so it runs without the server's secrets.
 */
export function loadDatabaseConfig(env: Record<string, string | undefined>): Config['database'] {
  const parsed = envSchema.pick({ DATABASE_URL: true }).safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return databaseOf(parsed.data.DATABASE_URL);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * The process environment, with a `.env` file in the working directory read first when present
 * (variables already set win over the file).
 */
export function readEnvironment(): Record<string, string | undefined> {
  try {
    process.loadEnvFile('.env');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return process.env;
}
