import type { Agent } from 'node:https';
import { isIP } from 'node:net';
import { hostOf, resolveAllowed } from '../net/address-policy.js';

interface AgentModule {
  HttpsProxyAgent?: new (url: string, opts?: { servername?: string }) => Agent;
  SocksProxyAgent?: new (url: string) => Agent;
}

/** Optional packages, loaded only when a session has a proxy of that kind. */
async function load(name: string): Promise<AgentModule> {
  try {
    return (await import(name)) as AgentModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        `This session's proxy needs the "${name}" package, which is not installed (npm install ${name}).`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * The agent that carries a session's WebSocket (and media uploads) through its proxy:
 * `http://` and `https://` proxies tunnel with CONNECT (https-proxy-agent), `socks5://` and
 * `socks5h://` (DNS resolved by the proxy) go through socks-proxy-agent.
 */
export async function createProxyAgent(proxyUrl: string, allowPrivateNetworks: boolean): Promise<Agent> {
  const { url, servername } = await pinned(proxyUrl, allowPrivateNetworks);
  const protocol = url.protocol;
  if (protocol === 'socks5:' || protocol === 'socks5h:') {
    const { SocksProxyAgent } = await load('socks-proxy-agent');
    if (!SocksProxyAgent) throw new Error('socks-proxy-agent has no SocksProxyAgent export.');
    return new SocksProxyAgent(url.href);
  }
  if (protocol === 'http:' || protocol === 'https:') {
    const { HttpsProxyAgent } = await load('https-proxy-agent');
    if (!HttpsProxyAgent) throw new Error('https-proxy-agent has no HttpsProxyAgent export.');
    return new HttpsProxyAgent(url.href, servername ? { servername } : {});
  }
  throw new Error(`Unsupported proxy protocol ${protocol}`);
}

/**
 * The proxy URL with its host replaced by the address just checked against the policy, so the
 * agent connects to exactly that address (a DNS answer changed since the save cannot steer it
 * inside). An https proxy keeps its name for TLS.
 */
async function pinned(
  proxyUrl: string,
  allowPrivateNetworks: boolean,
): Promise<{ url: URL; servername: string | null }> {
  const url = new URL(proxyUrl);
  const host = hostOf(url);
  if (allowPrivateNetworks) return { url, servername: null };
  const [first] = await resolveAllowed(host, false);
  if (isIP(host)) return { url, servername: null };
  url.hostname = first!.family === 6 ? `[${first!.address}]` : first!.address;
  return { url, servername: url.protocol === 'https:' ? host : null };
}
