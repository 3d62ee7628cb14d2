import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { WebhookUrlNotAllowedError } from '../errors.js';
import { blockedReason, hostOf, lookupAll } from '../net/address-policy.js';

export { blockedReason } from '../net/address-policy.js';

/** The relaxations a local stack or a test may turn on (both off by default). */
export interface UrlRules {
  allowHttp: boolean;
  allowPrivateNetworks: boolean;
}

/** Checks that need no DNS: scheme, credentials, literal addresses. Returns the reason, or null. */
export function staticUrlProblem(u: URL, rules: UrlRules): string | null {
  if (u.protocol !== 'https:' && !(rules.allowHttp && u.protocol === 'http:')) {
    return rules.allowHttp ? 'only http(s) URLs are accepted' : 'only https URLs are accepted';
  }
  if (u.username || u.password) return 'credentials in the URL are not accepted (send them as a header)';
  // Port 0 is no port: a connect to it fails in ways that differ by platform.
  if (u.port === '0') return 'port 0 is not a port';
  const host = hostOf(u);
  if (!rules.allowPrivateNetworks && isIP(host)) {
    const reason = blockedReason(host);
    if (reason) return `${host} is a ${reason} address`;
  }
  return null;
}

/**
 * The check on save: the scheme, and (unless private networks are allowed) every address the
 * host resolves to. Throws WebhookUrlNotAllowedError with the reason.
 */
export async function assertWebhookUrl(raw: string, rules: UrlRules): Promise<URL> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new WebhookUrlNotAllowedError('not a valid URL');
  }
  const problem = staticUrlProblem(u, rules);
  if (problem) throw new WebhookUrlNotAllowedError(problem);
  const host = hostOf(u);
  if (rules.allowPrivateNetworks || isIP(host)) return u;
  // One answer whether the name does not resolve or resolves inside: either would tell the
  // tenant about internal names. The address and range go to the log (the error's cause).
  const refused = (cause: unknown) =>
    new WebhookUrlNotAllowedError(`${host} does not resolve to public addresses only`, { cause });
  let addrs: LookupAddress[];
  try {
    addrs = await lookupAll(host);
  } catch (err) {
    throw refused(err);
  }
  for (const a of addrs) {
    const reason = blockedReason(a.address);
    if (reason) throw refused(new Error(`${host} resolves to ${a.address}, a ${reason} address`));
  }
  return u;
}
