import { randomBytes } from 'node:crypto';

/** A random, URL-safe identifier: `prefix` + `bytes` random bytes in base64url. */
export function newId(prefix: string, bytes = 12): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}
