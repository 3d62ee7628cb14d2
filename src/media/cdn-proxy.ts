import { buildConnector, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';

/**
 * A dispatcher that reaches the CDN through a session's proxy, so media travel the same way as
 * the session's WebSocket. HTTP(S) proxies tunnel with CONNECT (credentials in the URL become
 * `Proxy-Authorization`); SOCKS5 proxies get the host name, so names resolve at the proxy
 * (`socks5://` and `socks5h://` alike). Response timeouts are set per request by the caller.
 */
export function createProxyDispatcher(proxyUrl: string, connectTimeoutMs: number): Dispatcher {
  const url = new URL(proxyUrl);
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return new ProxyAgent({ uri: url.href, connect: { timeout: connectTimeoutMs }, proxyTls: { timeout: connectTimeoutMs }, keepAliveTimeout: 10_000 });
  }
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    return new Socks5ProxyAgent(url.href.replace(/^socks5h:/, 'socks5:'), { connect: buildConnector({ timeout: connectTimeoutMs }) });
  }
  throw new TypeError(`Unsupported proxy protocol ${url.protocol}`);
}
