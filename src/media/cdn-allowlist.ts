/**
 * Which origins the media client may contact. Message fields (`url`, `directPath`) come from
 * other people's phones, so every URL is checked against this list before any connection.
 *
 * An entry is `scheme://host[:port]`. `*` may stand for whole leading host labels, each `*`
 * matching exactly one DNS label (`https://*.whatsapp.net` matches `mmg.whatsapp.net` but not
 * `a.b.whatsapp.net`), and for the port (`http://127.0.0.1:*`).
 */

/** One parsed allowlist entry; hosts and ports are already normalised by WHATWG URL. */
export interface AllowRule {
  /** `http:` or `https:`. */
  readonly protocol: 'http:' | 'https:';
  /** Number of leading `*` labels (0 = exact host). */
  readonly wildcardLabels: number;
  /** The exact host, or the fixed suffix after the `*` labels (lowercase, no leading dot). */
  readonly host: string;
  /** `''` for the scheme's default port, `'*'` for any port, else the port digits. */
  readonly port: string;
}

/** WhatsApp's media CDN hosts: `mmg.whatsapp.net`, `media-xxx.cdn.whatsapp.net`, `media.fxxx-x.fna.whatsapp.net`. */
export const DEFAULT_CDN_ALLOWLIST =
  'https://mmg.whatsapp.net,https://*.whatsapp.net,https://*.cdn.whatsapp.net,' +
  'https://*.fna.whatsapp.net,https://*.*.fna.whatsapp.net';

const ENTRY = /^(https?):\/\/((?:\*\.)*)([^/?#@\s*:]+|\[[0-9a-fA-F:.]+\])(?::(\*|\d{1,5}))?\/?$/i;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/**
 * Parses a comma-separated allowlist. Blank entries (e.g. a trailing comma) are skipped; an
 * invalid entry or an empty list throws an `Error` naming the offending entry.
 */
export function parseAllowlist(spec: string): AllowRule[] {
  const rules = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(parseEntry);
  if (rules.length === 0) throw new Error('CDN allowlist is empty: list at least one origin.');
  return rules;
}

function parseEntry(entry: string): AllowRule {
  const fail = (why: string): never => invalid(entry, why);
  const m = ENTRY.exec(entry);
  if (!m) return invalid(entry, 'expected scheme://host[:port] over http or https, no path or user info');
  const [, scheme = '', stars = '', rawHost = '', rawPort] = m;
  const protocol = scheme.toLowerCase() === 'https' ? 'https:' : 'http:';
  const wildcardLabels = stars.length / 2;

  let url: URL;
  try {
    url = new URL(`${protocol}//${rawHost}`);
  } catch {
    return fail('the host is not valid');
  }
  const host = url.hostname;
  if (wildcardLabels > 0) {
    // A wildcard must sit above a real registrable name, never an IP or a bare TLD.
    const labels = host.split('.');
    if (host.startsWith('[') || IPV4.test(host)) fail('a wildcard cannot be used with an IP address');
    if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
      fail('a wildcard needs at least two fixed DNS labels after it (e.g. https://*.example.com)');
    }
  }

  let port = '';
  if (rawPort === '*') port = '*';
  else if (rawPort !== undefined) {
    const n = Number(rawPort);
    if (!Number.isInteger(n) || n < 1 || n > 65535) fail('the port must be 1-65535 or *');
    url.port = String(n);
    port = url.port; // '' again when it is the scheme's default port
  }
  return { protocol, wildcardLabels, host, port };
}

function invalid(entry: string, why: string): never {
  throw new Error(`Invalid CDN allowlist entry "${entry}": ${why}.`);
}

/**
 * True when `url` may be fetched: same scheme, same normalised host (a `*` label matches one
 * DNS label), same port (default ports normalised), and no user info in the URL.
 */
export function isAllowedOrigin(url: URL, rules: readonly AllowRule[]): boolean {
  if (url.username !== '' || url.password !== '') return false;
  return rules.some((rule) => matches(url, rule));
}

function matches(url: URL, rule: AllowRule): boolean {
  if (url.protocol !== rule.protocol) return false;
  if (rule.port !== '*' && url.port !== rule.port) return false;
  const host = url.hostname;
  if (rule.wildcardLabels === 0) return host === rule.host;
  if (!host.endsWith(`.${rule.host}`)) return false;
  const prefix = host.slice(0, host.length - rule.host.length - 1).split('.');
  return prefix.length === rule.wildcardLabels && prefix.every((l) => LABEL.test(l));
}
