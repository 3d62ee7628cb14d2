import { createHmac, randomBytes } from 'node:crypto';

/**
 * `sha256=<hex HMAC-SHA256(hmacKey, body)>`, Titan's X-Webhook-Signature value. The key is used
 * as its UTF-8 bytes, the way `openssl dgst -sha256 -hmac KEY` uses its argument. It covers the
 * body only, so a captured delivery replays with any timestamp: kept for compatibility.
 */
export function signBody(hmacKey: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', hmacKey).update(body).digest('hex')}`;
}

const WHSEC = /^whsec_((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?)$/;

/**
 * The HMAC key bytes Standard Webhooks libraries derive from a secret: `whsec_<base64>` is
 * base64-decoded (as theirs do); any other string (a key the tenant chose) is used as its UTF-8
 * bytes, which those libraries accept as a raw key.
 */
export function standardKeyBytes(secret: string): Buffer {
  const m = WHSEC.exec(secret);
  return m ? Buffer.from(m[1]!, 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * The Standard Webhooks `webhook-signature` value: `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`
 * for each key, space-separated (several during a rotation window).
 */
export function signStandard(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return secrets
    .map((s) => `v1,${createHmac('sha256', standardKeyBytes(s)).update(signed).digest('base64')}`)
    .join(' ');
}

/** A fresh signing secret in the Standard Webhooks form: `whsec_` + 256 random bits in base64. */
export function generateHmacKey(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
