import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, getObject, s3Endpoint, serverS3Env, testS3Client } from '../support/s3.js';

/**
 * The storage as a client outside a container network reaches it: another address (a plain
 * HTTP relay to the same gateway, Host header untouched), counting what passes through.
 */
async function startRelay(target: string): Promise<{ origin: string; requests: string[]; close(): Promise<void> }> {
  const t = new URL(target);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('S3_PUBLIC_ENDPOINT (default bucket)', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-public');
    relay = await startRelay(s3Endpoint().endpoint);
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      ...serverS3Env(bucket),
      S3_PUBLIC_ENDPOINT: relay.origin,
    });
    a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 's' } });
  });
  afterAll(async () => {
    await t.close();
    await relay.close();
    await cdn.close();
    s3.destroy();
  });

  async function persisted(size: number) {
    const p = await publishMedia(cdn, { type: 'document', plaintext: plaintextOf(size) });
    const { mediaId } = await ingestMessage(t, a.auth, 's', p.message);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/s/media/${mediaId}/persist`,
      headers: a.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return { ...p, mediaId: mediaId!, data: res.json<{ data: { url: string; key: string } }>().data };
  }

  it('presigns for the public endpoint while uploads and reads use the internal one', async () => {
    const before = relay.requests.length;
    const m = await persisted(7 * 1024 * 1024 + 3);
    // The upload did not go through the public address...
    expect(relay.requests.length).toBe(before);
    expect((await getObject(s3, bucket, m.data.key)).bytes.equals(m.plaintext)).toBe(true);
    // ...but the URL handed out names it, and works from there.
    const url = new URL(m.data.url);
    expect(url.origin).toBe(relay.origin);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(m.plaintext));
    expect(relay.requests.at(-1)).toMatch(/^GET \//);

    // The media object's s3Url is minted the same way; a streamed download reads the bucket directly.
    const seen = relay.requests.length;
    const obj = await t.app.inject({ url: `/api/sessions/s/media/${m.mediaId}`, headers: a.auth });
    expect(new URL(obj.json<{ data: { s3Url: string } }>().data.s3Url).origin).toBe(relay.origin);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/s/media/${m.mediaId}/download`,
      headers: a.auth,
    });
    expect(dl.statusCode).toBe(200);
    expect(dl.rawPayload.equals(m.plaintext)).toBe(true);
    expect(relay.requests.length).toBe(seen);
  });

  it('signs the public host: the same URL sent to the internal address is refused', async () => {
    const m = await persisted(1000);
    const internal = new URL(m.data.url);
    const e = new URL(s3Endpoint().endpoint);
    internal.host = e.host;
    expect((await fetch(internal)).status).toBe(403);
  });

  it('sends redirect downloads to the public endpoint', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: { downloadMode: 'redirect' },
    });
    expect(put.statusCode, put.body).toBe(200);
    const m = await persisted(2000);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/s/media/${m.mediaId}/download`,
      headers: a.auth,
    });
    expect(dl.statusCode).toBe(302);
    const location = new URL(String(dl.headers.location));
    expect(location.origin).toBe(relay.origin);
    const got = await fetch(location);
    expect(got.status).toBe(200);
    expect(sha256(Buffer.from(await got.arrayBuffer()))).toBe(sha256(m.plaintext));
  });
});
