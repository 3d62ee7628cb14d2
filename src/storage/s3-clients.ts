import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { StorageFailedError } from '../errors.js';
import { assertLiteralAllowed, guardedLookup, hostOf } from '../net/address-policy.js';
import { loadClientS3 } from './aws-sdk.js';
import { observeS3Requests, type S3Observer } from './s3-request-metrics.js';
import type { S3Settings, StorageTarget } from './s3-settings.js';

/**
 * Makes the S3 client for a bucket's settings (tests and embedders may pass their own).
 * `trusted`: the server default's settings (the operator's word), outside the address policy.
 */
export type S3ClientFactory = (settings: S3Settings, opts: { trusted: boolean }) => Promise<S3Client>;

/** The address policy for an account's endpoint; the server default (S3_*, the operator's word) has none. */
export interface EndpointGuard {
  /** S3_ALLOW_PRIVATE_ENDPOINTS */
  allowPrivate: boolean;
}

/**
 * S3 clients cached per settings version: one client (and connection pool) per bucket
 * configuration, rebuilt only when the settings change. The promise is cached, so concurrent
 * callers share one client even while the first call still imports the SDK.
 */
export function createS3ClientCache(
  factory: S3ClientFactory = (s, o) =>
    buildS3Client(s, DEFAULT_S3_DEADLINES, o.trusted ? null : { allowPrivate: false }),
  observer?: S3Observer,
) {
  const clients = new Map<string, Promise<S3Client>>();
  const destroy = (p: Promise<S3Client>) => void p.then((c) => c.destroy()).catch(() => undefined);
  return {
    get(target: StorageTarget): Promise<S3Client> {
      let client = clients.get(target.cacheKey);
      if (!client) {
        // A newer version of the same owner replaces the old client.
        const owner = target.cacheKey.split('@')[0];
        for (const [k, c] of clients) {
          if (k.split('@')[0] === owner) {
            destroy(c);
            clients.delete(k);
          }
        }
        // Every client the cache hands out reports its requests (operation, outcome, latency).
        // The server default is the operator's word: no address policy on its endpoint.
        const built = factory(target.settings, { trusted: target.cacheKey === SERVER_DEFAULT_KEY });
        client = observer ? built.then((c) => (observeS3Requests(c, observer), c)) : built;
        // A failed build is not cached: the next call tries again.
        const cached = client;
        cached.catch(() => {
          if (clients.get(target.cacheKey) === cached) clients.delete(target.cacheKey);
        });
        clients.set(target.cacheKey, client);
      }
      return client;
    },
    close() {
      for (const c of clients.values()) destroy(c);
      clients.clear();
    },
  };
}

export type S3ClientCache = ReturnType<typeof createS3ClientCache>;

/** How long any S3 call may take (S3_* deadlines, see docs/operations.md). */
export interface S3Deadlines {
  /** TCP (and TLS) connect. */
  connectTimeoutMs: number;
  /** No byte moving either way for this long fails the request: a stalled part upload included. */
  stallTimeoutMs: number;
  /** One request, start to end. */
  requestTimeoutMs: number;
  /** Tries per request (the SDK's retries with backoff), the first included. */
  maxAttempts: number;
}

export const DEFAULT_S3_DEADLINES: S3Deadlines = {
  connectTimeoutMs: 5_000,
  stallTimeoutMs: 30_000,
  requestTimeoutMs: 600_000,
  maxAttempts: 3,
};

/** The cache key of the server-wide default bucket (S3_*). */
export const SERVER_DEFAULT_KEY = 'server@default';

/** An S3 client for AWS or any S3-compatible endpoint; `guard` null: no address policy (the operator's own endpoint). */
export async function buildS3Client(
  s: S3Settings,
  deadlines: S3Deadlines = DEFAULT_S3_DEADLINES,
  guard: EndpointGuard | null = null,
): Promise<S3Client> {
  return newS3Client(await loadClientS3(), s, deadlines, guard);
}

/** The default client factory: the configured deadlines, and the address policy on accounts' endpoints. */
export const s3ClientFactory =
  (deadlines: S3Deadlines, guard: EndpointGuard): S3ClientFactory =>
  (s, o) =>
    buildS3Client(s, deadlines, o.trusted ? null : guard);

/**
 * Sockets whose lookup refuses forbidden addresses, so a name re-pointed inside after the
 * settings were saved gets no connection; a literal address is checked here, once.
 */
function guardedAgents(endpoint: string | null | undefined, guard: EndpointGuard | null) {
  if (!guard || guard.allowPrivate || !endpoint) return {};
  try {
    assertLiteralAllowed(hostOf(new URL(endpoint)), false);
  } catch (err) {
    throw new StorageFailedError('The bucket could not be reached: the storage endpoint is not allowed.', {
      cause: err,
    });
  }
  const lookup = guardedLookup();
  return {
    httpAgent: new HttpAgent({ keepAlive: true, lookup }),
    httpsAgent: new HttpsAgent({ keepAlive: true, lookup }),
  };
}

function newS3Client(
  sdk: { S3Client: typeof S3Client },
  s: S3Settings,
  d: S3Deadlines,
  guard: EndpointGuard | null,
): S3Client {
  const client = new sdk.S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle,
    ...(s.accessKeyId && s.secretAccessKey
      ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } }
      : {}),
    // Non-AWS endpoints often lack the newer default checksums; ask only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: d.maxAttempts,
    // Without these a gateway that accepts and never answers holds a request (and its transfer
    // slot) for as long as the kernel keeps the connection: minutes, or for good.
    requestHandler: {
      connectionTimeout: d.connectTimeoutMs,
      socketTimeout: d.stallTimeoutMs,
      requestTimeout: d.requestTimeoutMs,
      throwOnRequestTimeout: true,
      ...guardedAgents(s.endpoint, guard),
    },
  });
  // Uploaded bytes were verified (MAC, SHA-256) on their way in; hashing every part again for
  // SigV4 cost ~14% of a persist's CPU. UNSIGNED-PAYLOAD signs the request without the body
  // hash (the signer keeps a hash header it finds); transport integrity is TLS's job.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers && UNSIGNED_COMMANDS.has(context.commandName ?? ''))
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedPayloadForUploads' },
  );
  return client;
}

const SIGN_ONLY: S3Deadlines = {
  connectTimeoutMs: 1_000,
  stallTimeoutMs: 1_000,
  requestTimeoutMs: 1_000,
  maxAttempts: 1,
};

// Keyed by the settings object: the server default's is one frozen object for the process's life.
const presigners = new WeakMap<StorageTarget['settings'], S3Client>();

/**
 * The client that signs URLs handed to clients: `client` itself, or, with a presign endpoint,
 * one that names that endpoint (SigV4 signs the host, so the URL cannot be rewritten after
 * signing). It only signs, so it never opens a connection.
 */
export async function presigningClient(client: S3Client, s: StorageTarget['settings']): Promise<S3Client> {
  if (!s.presignEndpoint) return client;
  let signer = presigners.get(s);
  if (!signer) {
    // It never connects, so its deadlines are never used.
    signer = newS3Client(await loadClientS3(), { ...s, endpoint: s.presignEndpoint }, SIGN_ONLY, null);
    presigners.set(s, signer);
  }
  return signer;
}

const UNSIGNED_COMMANDS = new Set(['UploadPartCommand', 'PutObjectCommand']);
