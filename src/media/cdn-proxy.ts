import { buildConnector, Pool, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';
import { assertLiteralAllowed, guardedLookup, hostOf } from '../net/address-policy.js';

/**
 * A dispatcher that reaches the CDN through a session's proxy, so media travel the same way as
 * the session's WebSocket. HTTP(S) proxies tunnel with CONNECT (credentials in the URL become
 * `Proxy-Authorization`); SOCKS5 proxies get the host name, so names resolve at the proxy
 * (`socks5://` and `socks5h://` alike). `tunnelTimeoutMs` bounds reaching the proxy and its
 * CONNECT/SOCKS handshake; response timeouts are set per request by the caller.
 */
export function createProxyDispatcher(
  proxyUrl: string,
  tunnelTimeoutMs: number,
  allowPrivateNetworks = false,
): Dispatcher {
  const url = new URL(proxyUrl);
  // The address policy on the proxy itself: a literal address now (sockets skip the lookup for
  // those), a name inside the socket's lookup, on the address it is about to connect to.
  assertLiteralAllowed(hostOf(url), allowPrivateNetworks);
  const toProxy = { timeout: tunnelTimeoutMs, ...(allowPrivateNetworks ? {} : { lookup: guardedLookup() }) };
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return new ProxyAgent({
      uri: url.href,
      connect: { timeout: tunnelTimeoutMs },
      proxyTls: toProxy,
      keepAliveTimeout: 10_000,
      // The client that talks to the proxy itself (its connector, from proxyTls, checks the
      // proxy's resolved address): its headers timeout is the CONNECT answer's.
      clientFactory: (origin, opts) => new Pool(origin, { ...opts, headersTimeout: tunnelTimeoutMs }),
    });
  }
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    return new Socks5ProxyAgent(url.href.replace(/^socks5h:/, 'socks5:'), { connect: buildConnector(toProxy) });
  }
  throw new TypeError(`Unsupported proxy protocol ${url.protocol}`);
}
