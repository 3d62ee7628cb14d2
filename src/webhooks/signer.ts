import { createHmac, randomBytes } from 'node:crypto';

/**
 * `sha256=<hex HMAC-SHA256(hmacKey, body)>`, the X-Webhook-Signature value. The key is used as
 * its UTF-8 bytes, the way `openssl dgst -sha256 -hmac KEY` uses its argument.
 */
export function signBody(hmacKey: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', hmacKey).update(body).digest('hex')}`;
}

/** A fresh HMAC key: 256 random bits in hex, so it pastes safely into shells and configs. */
export function generateHmacKey(): string {
  return `whsec_${randomBytes(32).toString('hex')}`;
}
