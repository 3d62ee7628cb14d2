import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { StorageFailedError } from '../errors.js';
import { assertLiteralAllowed, guardedLookup, hostOf } from '../net/address-policy.js';
import { loadClientS3 } from './aws-sdk.js';
import type { StorageTarget } from './s3-settings.js';

/** The address policy for an account's endpoint; the server default (S3_*, the operator's word) has none. */
export interface EndpointGuard {
  /** S3_ALLOW_PRIVATE_ENDPOINTS */
  allowPrivate: boolean;
}

/**
 * S3 clients cached per settings version: one client (and connection pool) per bucket
 * configuration, rebuilt only when the settings change. `get` is async only because the first
 * call imports the SDK (aws-sdk.ts); after that await, it runs to the end without yielding, so
 * concurrent callers still share one client.
 */
export function createS3ClientCache(guard: EndpointGuard = { allowPrivate: false }) {
  const clients = new Map<string, S3Client>();
  return {
    async get(target: StorageTarget): Promise<S3Client> {
      const sdk = await loadClientS3();
      let client = clients.get(target.cacheKey);
      if (!client) {
        // A newer version of the same owner replaces the old client.
        const owner = target.cacheKey.split('@')[0];
        for (const [k, c] of clients) {
          if (k.split('@')[0] === owner) {
            c.destroy();
            clients.delete(k);
          }
        }
        client = newS3Client(sdk, target.settings, target.cacheKey === SERVER_DEFAULT_KEY ? null : guard);
        clients.set(target.cacheKey, client);
      }
      return client;
    },
    close() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
}

export type S3ClientCache = ReturnType<typeof createS3ClientCache>;

/** The cache key of the server-wide default bucket (S3_*). */
export const SERVER_DEFAULT_KEY = 'server@default';

/** An S3 client for an account's AWS or S3-compatible endpoint, under the address policy. */
export async function buildS3Client(s: StorageTarget['settings'], guard: EndpointGuard): Promise<S3Client> {
  return newS3Client(await loadClientS3(), s, guard);
}

/**
 * Sockets whose lookup refuses forbidden addresses, so a name re-pointed inside after the
 * settings were saved gets no connection; a literal address is checked here, once.
 */
function guardedHandler(endpoint: string | null, guard: EndpointGuard | null) {
  if (!guard || guard.allowPrivate || !endpoint) return {};
  try {
    assertLiteralAllowed(hostOf(new URL(endpoint)), false);
  } catch (err) {
    throw new StorageFailedError('The bucket could not be reached: the storage endpoint is not allowed.', { cause: err });
  }
  const lookup = guardedLookup();
  return { requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, lookup }), httpsAgent: new HttpsAgent({ keepAlive: true, lookup }) } };
}

function newS3Client(sdk: { S3Client: typeof S3Client }, s: StorageTarget['settings'], guard: EndpointGuard | null): S3Client {
  const client = new sdk.S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...guardedHandler(s.endpoint, guard),
    forcePathStyle: s.forcePathStyle,
    ...(s.accessKeyId && s.secretAccessKey ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } } : {}),
    // Non-AWS endpoints often lack the newer default checksums; ask only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  // Uploaded bytes were verified (MAC, SHA-256) on their way in; hashing every part again for
  // SigV4 cost ~14% of a persist's CPU. UNSIGNED-PAYLOAD signs the request without the body
  // hash (the signer keeps a hash header it finds); transport integrity is TLS's job.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers && UNSIGNED_COMMANDS.has(context.commandName ?? '')) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'unsignedPayloadForUploads' },
  );
  return client;
}

const UNSIGNED_COMMANDS = new Set(['UploadPartCommand', 'PutObjectCommand']);
