import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'titan_';

/** A new API key secret: `titan_` + 256 random bits in base64url (43 characters). */
export function generateKeySecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * SHA-256 of the secret. The secret carries 256 bits of entropy, so a fast hash cannot be
 * brute-forced and lets us look a key up by its hash in one indexed query.
 */
export function hashKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function digestsEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Cheap shape check before any database work: `titan_` + 43 base64url characters. */
export function looksLikeKeySecret(s: string): boolean {
  return /^titan_[A-Za-z0-9_-]{43}$/.test(s);
}

/** The part of a secret shown in listings. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, KEY_PREFIX.length + 6);
}
