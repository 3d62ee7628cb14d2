import type { S3Client } from '@aws-sdk/client-s3';
import { loadClientS3 } from './aws-sdk.js';
import type { StorageTarget } from './s3-settings.js';

/**
 * S3 clients cached per settings version: one client (and connection pool) per bucket
 * configuration, rebuilt only when the settings change. `get` is async only because the first
 * call imports the SDK (aws-sdk.ts); after that await, it runs to the end without yielding, so
 * concurrent callers still share one client.
 */
export function createS3ClientCache() {
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
        client = newS3Client(sdk, target.settings);
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

/** An S3 client for AWS or any S3-compatible endpoint. */
export async function buildS3Client(s: StorageTarget['settings']): Promise<S3Client> {
  return newS3Client(await loadClientS3(), s);
}

function newS3Client(sdk: { S3Client: typeof S3Client }, s: StorageTarget['settings']): S3Client {
  const client = new sdk.S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
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
    signer = newS3Client(await loadClientS3(), { ...s, endpoint: s.presignEndpoint });
    presigners.set(s, signer);
  }
  return signer;
}

const UNSIGNED_COMMANDS = new Set(['UploadPartCommand', 'PutObjectCommand']);
