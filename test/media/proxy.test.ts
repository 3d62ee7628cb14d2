import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { startConnectProxy, startSocks5Proxy, type TestProxy } from '../support/proxies.js';
import { createBucket, getObject, settingsBody, testS3Client } from '../support/s3.js';

// A session's proxy carries its media too: downloads and persists fetch the CDN file through it.
describe("media through the session's proxy", () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let httpProxy: TestProxy;
  let socksProxy: TestProxy;
  let auth: { authorization: string };
  let cdnHost: string;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    cdnHost = new URL(cdn.origin).host;
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-proxy');
    [httpProxy, socksProxy] = await Promise.all([startConnectProxy(), startSocks5Proxy()]);
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '1',
    });
    auth = (await t.newAccount()).auth;
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: auth,
      payload: settingsBody(bucket),
    });
    expect(put.statusCode, put.body).toBe(200);
    for (const [name, proxy] of [
      ['via-http', httpProxy.url],
      ['via-socks', socksProxy.url],
      ['direct', null],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name, proxy } });
      expect(res.statusCode, res.body).toBe(201);
    }
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([cdn.close(), httpProxy.close(), socksProxy.close()]);
    s3.destroy();
  });

  async function media(session: string, size = 300_000) {
    const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(size) });
    const { mediaId } = await ingestMessage(t, auth, session, p.message);
    return { p, url: `/api/sessions/${session}/media/${mediaId}` };
  }

  it.each([
    ['an HTTP proxy (CONNECT, Basic credentials)', 'via-http', () => httpProxy],
    ['a SOCKS5 proxy (names resolved at the proxy, credentials)', 'via-socks', () => socksProxy],
  ])('%s carries downloads, ranges and persists', async (_label, session, proxyOf) => {
    const proxy = proxyOf();
    const { p, url } = await media(session);
    const tunnelsBefore = proxy.tunnels.length;

    const dl = await t.app.inject({ method: 'POST', url: `${url}/download`, headers: auth });
    expect(dl.statusCode).toBe(200);
    expect(sha256(dl.rawPayload)).toBe(sha256(p.plaintext));
    const part = await t.app.inject({
      method: 'POST',
      url: `${url}/download`,
      headers: { ...auth, range: 'bytes=1000-70000' },
    });
    expect(part.statusCode).toBe(206);
    expect(part.rawPayload.equals(p.plaintext.subarray(1000, 70001))).toBe(true);
    const persisted = await t.app.inject({ method: 'POST', url: `${url}/persist`, headers: auth });
    expect(persisted.statusCode, persisted.body).toBe(200);
    expect(sha256((await getObject(s3, bucket, persisted.json().data.key)).bytes)).toBe(sha256(p.plaintext));

    // Every connection to the CDN went through the proxy (keep-alive may reuse a tunnel).
    expect(proxy.tunnels.length).toBeGreaterThan(tunnelsBefore);
    expect(new Set(proxy.tunnels)).toEqual(new Set([cdnHost]));
    expect(proxy.refused).toBe(0);
    // The transfer lines say so, and the proxy's credentials never reach the log.
    const mediaId = url.split('/').at(-1);
    const lines = t.logs.lines.filter((l) => l.msg === 'transfer' && l.mediaId === mediaId);
    expect(lines.map((l) => [l.transfer, l.outcome, l.throughProxy])).toEqual([
      ['download', 'completed', true],
      ['range', 'completed', true],
      ['persist', 'completed', true],
    ]);
    expect(t.logs.text()).not.toContain('s3cret');
  });

  it('a session without a proxy fetches directly', async () => {
    const before = [httpProxy.tunnels.length, socksProxy.tunnels.length];
    const { p, url } = await media('direct');
    const dl = await t.app.inject({ method: 'POST', url: `${url}/download`, headers: auth });
    expect(sha256(dl.rawPayload)).toBe(sha256(p.plaintext));
    expect([httpProxy.tunnels.length, socksProxy.tunnels.length]).toEqual(before);
    expect(t.logs.lines.find((l) => l.msg === 'transfer' && l.mediaId === url.split('/').at(-1))).toMatchObject({
      outcome: 'completed',
      throughProxy: false,
    });
  });

  it('an unreachable proxy fails the download with CDN_UNAVAILABLE, and the CDN is never contacted directly', async () => {
    const dead = await startConnectProxy();
    await dead.close();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'dead-proxy', proxy: dead.url },
    });
    expect(res.statusCode).toBe(201);
    const { p, url } = await media('dead-proxy', 2000);
    const cdnRequests = cdn.requests.filter((r) => r.path === p.path).length;
    const dl = await t.app.inject({ method: 'POST', url: `${url}/download`, headers: auth });
    expect(dl.statusCode).toBe(502);
    // The error names the proxy (never its credentials).
    expect(dl.json()).toMatchObject({
      code: 'CDN_UNAVAILABLE',
      error: expect.stringContaining(`through the session's proxy http://${new URL(dead.url).host}`),
    });
    expect(dl.body).not.toContain('s3cret');
    expect(cdn.requests.filter((r) => r.path === p.path).length).toBe(cdnRequests);
    expect(t.logs.lines.find((l) => l.msg === 'transfer' && l.mediaId === url.split('/').at(-1))).toMatchObject({
      outcome: 'cdn_failed',
      code: 'CDN_UNAVAILABLE',
      throughProxy: true,
    });
  });

  it('a proxy that refuses the credentials fails the download with CDN_UNAVAILABLE', async () => {
    const wrong = httpProxy.url.replace('s3cret', 'wrong');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'wrong-pass', proxy: wrong },
    });
    expect(res.statusCode).toBe(201);
    const { url } = await media('wrong-pass', 2000);
    const refused = httpProxy.refused;
    const dl = await t.app.inject({ method: 'POST', url: `${url}/download`, headers: auth });
    expect(dl.statusCode).toBe(502);
    expect(dl.json()).toMatchObject({ code: 'CDN_UNAVAILABLE' });
    expect(httpProxy.refused).toBeGreaterThan(refused);
  });
});
