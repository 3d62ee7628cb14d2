import { buildConnector, Pool, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';

/**
 * A dispatcher that reaches the CDN through a session's proxy, so media travel the same way as
 * the session's WebSocket. HTTP(S) proxies tunnel with CONNECT (credentials in the URL become
 * `Proxy-Authorization`); SOCKS5 proxies get the host name, so names resolve at the proxy
 * (`socks5://` and `socks5h://` alike). Response timeouts are set per request by the caller.
 *
 * `tunnelTimeoutMs` bounds reaching the proxy and its answer to CONNECT (undici would wait 300 s
 * for a proxy that accepts and never answers); SOCKS5 handshakes carry undici's own 5 s limits.
 */
export function createProxyDispatcher(proxyUrl: string, tunnelTimeoutMs: number): Dispatcher {
  const url = new URL(proxyUrl);
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return new ProxyAgent({
      uri: url.href,
      connect: { timeout: tunnelTimeoutMs },
      proxyTls: { timeout: tunnelTimeoutMs },
      keepAliveTimeout: 10_000,
      // The client that talks to the proxy itself: its headers timeout is the CONNECT answer's.
      clientFactory: (origin, opts) => new Pool(origin, { ...opts, headersTimeout: tunnelTimeoutMs }),
    });
  }
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    return new Socks5ProxyAgent(url.href.replace(/^socks5h:/, 'socks5:'), { connect: buildConnector({ timeout: tunnelTimeoutMs }) });
  }
  throw new TypeError(`Unsupported proxy protocol ${url.protocol}`);
}
