import type { Agent } from 'node:https';

interface AgentModule {
  HttpsProxyAgent?: new (url: string) => Agent;
  SocksProxyAgent?: new (url: string) => Agent;
}

/** Optional packages, loaded only when a session has a proxy of that kind. */
async function load(name: string): Promise<AgentModule> {
  try {
    return (await import(name)) as AgentModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`This session's proxy needs the "${name}" package, which is not installed (npm install ${name}).`, { cause: err });
    }
    throw err;
  }
}

/**
 * The agent that carries a session's WebSocket (and media uploads) through its proxy:
 * `http://` and `https://` proxies tunnel with CONNECT (https-proxy-agent), `socks5://` and
 * `socks5h://` (DNS resolved by the proxy) go through socks-proxy-agent.
 */
export async function createProxyAgent(proxyUrl: string): Promise<Agent> {
  const protocol = new URL(proxyUrl).protocol;
  if (protocol === 'socks5:' || protocol === 'socks5h:') {
    const { SocksProxyAgent } = await load('socks-proxy-agent');
    if (!SocksProxyAgent) throw new Error('socks-proxy-agent has no SocksProxyAgent export.');
    return new SocksProxyAgent(proxyUrl);
  }
  if (protocol === 'http:' || protocol === 'https:') {
    const { HttpsProxyAgent } = await load('https-proxy-agent');
    if (!HttpsProxyAgent) throw new Error('https-proxy-agent has no HttpsProxyAgent export.');
    return new HttpsProxyAgent(proxyUrl);
  }
  throw new Error(`Unsupported proxy protocol ${protocol}`);
}
