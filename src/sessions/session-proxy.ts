import type { SecretBox } from '../crypto/secret-box.js';
import { ProxyNotAllowedError } from '../errors.js';
import { hostOf, resolveAllowed } from '../net/address-policy.js';

/**
 * A session's proxy URL: checked against the address policy on save, sealed at rest (its
 * credentials are secrets) and only ever shown masked.
 */

/** Checks the proxy on save; throws ProxyNotAllowedError (one message, the reason as its cause). */
export async function assertProxyAllowed(raw: string, allowPrivateNetworks: boolean): Promise<void> {
  try {
    const u = new URL(raw);
    if (u.port === '0') throw new Error('port 0 is not a port');
    await resolveAllowed(hostOf(u), allowPrivateNetworks);
  } catch (err) {
    throw new ProxyNotAllowedError({ cause: err });
  }
}

// Rows written before proxies were sealed hold the URL itself; a URL never starts like a sealed value.
const isSealed = (stored: string) => stored.startsWith('v1.');

export const sealProxy = (box: SecretBox, url: string | null): string | null => (url === null ? null : box.seal(url));

/** The proxy URL to connect with, from its stored form. */
export function openProxy(box: SecretBox, stored: string | null): string | null {
  if (stored === null) return null;
  return isSealed(stored) ? box.open(stored).toString('utf8') : stored;
}

/** How the API shows a proxy: `http://user:***@host:port` (the password never leaves). */
export function maskProxy(url: string): string {
  const u = new URL(url);
  if (!u.username && !u.password) return `${u.protocol}//${u.host}`;
  return `${u.protocol}//${u.username ? `${u.username}:` : ''}***@${u.host}`;
}
