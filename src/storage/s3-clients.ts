import { S3Client } from '@aws-sdk/client-s3';
import type { StorageTarget } from './s3-settings.js';

/**
 * S3 clients cached per settings version: one client (and connection pool) per bucket
 * configuration, rebuilt only when the settings change.
 */
export function createS3ClientCache() {
  const clients = new Map<string, S3Client>();
  return {
    get(target: StorageTarget): S3Client {
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
        client = buildS3Client(target.settings);
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
export function buildS3Client(s: StorageTarget['settings']): S3Client {
  return new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle,
    ...(s.accessKeyId && s.secretAccessKey ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } } : {}),
    // Non-AWS endpoints often lack the newer default checksums; ask only when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}
