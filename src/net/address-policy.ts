import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * The one address policy for every connection the server opens on a tenant's word (webhook
 * URLs, session proxies, account S3 endpoints): loopback, private, link-local, metadata and
 * reserved addresses are refused unless the operator allowed private networks for that class.
 * It runs at save time and again on the resolved address at connect time (DNS rebinding).
 */

// Ranges a tenant must never reach: they lead into this host, its network or its cloud.
const RANGES: [reason: string, cidrs: string[]][] = [
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7']],
  // 169.254.169.254 (and fd00:ec2::254, inside fc00::/7) is where clouds serve instance credentials.
  ['link-local or metadata', ['169.254.0.0/16', 'fe80::/10']],
  [
    'reserved',
    [
      '192.0.0.0/24',
      '192.0.2.0/24',
      '198.18.0.0/15',
      '198.51.100.0/24',
      '203.0.113.0/24',
      '240.0.0.0/4',
      '2001:db8::/32',
    ],
  ],
  ['multicast or broadcast', ['224.0.0.0/4', '255.255.255.255/32', 'ff00::/8']],
];

const LISTS = RANGES.map(([reason, cidrs]) => {
  const list = new BlockList();
  for (const c of cidrs) {
    const [net, bits] = c.split('/') as [string, string];
    list.addSubnet(net, Number(bits), net.includes(':') ? 'ipv6' : 'ipv4');
  }
  return { reason, list };
});

/** The 16 bytes of an IPv6 address (a trailing dotted IPv4 part allowed). */
function v6Bytes(address: string): number[] {
  let a = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (dotted) {
    const [b1, b2, b3, b4] = dotted.slice(1).map(Number) as [number, number, number, number];
    a = `${a.slice(0, dotted.index)}${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

/** Why `address` is off limits, or null when it is a public address. */
export function blockedReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  let ip = address;
  if (family === 6) {
    // IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses reach the IPv4 inside.
    const b = v6Bytes(address);
    const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    const nat64 = b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.slice(4, 12).every((x) => x === 0);
    if (mapped || nat64) ip = b.slice(12).join('.');
  }
  const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  for (const { reason, list } of LISTS) if (list.check(ip, type)) return reason;
  return null;
}

/** A URL's host as an address or name (IPv6 literals without brackets). */
export const hostOf = (u: URL) => u.hostname.replace(/^\[(.*)\]$/, '$1');

/** The error a connection (or a check) gets when a host is, or resolves to, a forbidden address. */
export class BlockedAddressError extends Error {
  readonly code = 'ADDRESS_BLOCKED';
}

/** Throws BlockedAddressError when `host` is a forbidden literal address (names pass: see lookups). */
export function assertLiteralAllowed(host: string, allowPrivate: boolean): void {
  if (allowPrivate || !isIP(host)) return;
  const reason = blockedReason(host);
  if (reason) throw new BlockedAddressError(`${host} is a ${reason} address`);
}

/** A resolver that never answers must not hold the request: a save-time lookup gets this long. */
const SAVE_LOOKUP_TIMEOUT_MS = 5_000;

export function lookupAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`resolving ${host} timed out`)), SAVE_LOOKUP_TIMEOUT_MS);
    dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(addrs);
    });
  });
}

/**
 * Resolves `host` and returns the addresses, all checked; throws BlockedAddressError when it
 * is or resolves to a forbidden address, and the DNS error when it does not resolve. With
 * private networks allowed there is nothing to check: no lookup, no addresses.
 */
export async function resolveAllowed(host: string, allowPrivate: boolean): Promise<LookupAddress[]> {
  if (isIP(host)) {
    assertLiteralAllowed(host, allowPrivate);
    return [{ address: host, family: isIP(host) }];
  }
  if (allowPrivate) return [];
  const addrs = await lookupAll(host);
  if (addrs.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
  if (!allowPrivate) {
    for (const a of addrs) {
      const reason = blockedReason(a.address);
      if (reason) throw new BlockedAddressError(`${host} resolves to ${a.address}, a ${reason} address`);
    }
  }
  return addrs;
}

/**
 * A `lookup` for sockets that resolves, refuses the connection when any address is forbidden,
 * and hands the socket only the addresses it checked, so a DNS answer that changes between
 * save and connect (rebinding) cannot steer it inside. Literal addresses never reach a
 * lookup: check them with assertLiteralAllowed first.
 */
export function guardedLookup(): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addrs) => {
      if (err) return callback(err, '', 0);
      const bad = addrs.find((a) => blockedReason(a.address));
      if (bad) {
        return callback(
          new BlockedAddressError(`${hostname} resolves to ${bad.address}, a ${blockedReason(bad.address)} address`),
          '',
          0,
        );
      }
      if (addrs.length === 0)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addrs);
      callback(null, addrs[0]!.address, addrs[0]!.family);
    });
  };
}
