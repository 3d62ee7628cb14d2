import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { buildAppOn, eventually } from '../support/webhooks.js';

/** A TCP listener on loopback that only counts who knocked: it must never be contacted. */
async function startTrap(): Promise<{ port: number; hits: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const self = {
    port: 0,
    hits: 0,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((s) => {
    self.hits++;
    sockets.add(s);
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  self.port = (server.address() as AddressInfo).port;
  return self;
}

const STRICT = { SESSION_PROXY_ALLOW_PRIVATE_NETWORKS: 'false', S3_ALLOW_PRIVATE_ENDPOINTS: 'false' };
const CDN = { MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*', CDN_MAX_RETRIES: '0' };

describe.each(DIALECTS)('the address policy on proxies and S3 endpoints (%s)', (dialect) => {
  let t: TestApp;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  let auth: { authorization: string };
  const hosts = () => [
    `127.0.0.1:${trap.port}`,
    '169.254.169.254:80',
    '10.20.30.40:3128',
    `localhost:${trap.port}`,
    `[::ffff:127.0.0.1]:${trap.port}`,
    `[::1]:${trap.port}`,
  ];

  beforeAll(async () => {
    trap = await startTrap();
    t = await buildTestApp(dialect, STRICT);
    auth = (await t.newAccount()).auth;
  });
  afterAll(async () => {
    await t.close();
    await trap.close();
  });

  it('refuses proxies at loopback, metadata, private and loopback-resolving names on save, with one message and no contact', async () => {
    const answers = new Set<string>();
    for (const [i, host] of hosts().entries()) {
      for (const scheme of ['http', 'socks5']) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/sessions',
          headers: auth,
          payload: { name: `p${i}-${scheme}`, proxy: `${scheme}://user:pw@${host}` },
        });
        expect(res.statusCode, `${scheme}://${host}`).toBe(400);
        expect(res.json()).toMatchObject({ code: 'PROXY_NOT_ALLOWED' });
        answers.add(res.json<{ error: string }>().error);
        expect(res.body).not.toMatch(/127\.0\.0\.1|169\.254|10\.20|::1|pw/);
      }
    }
    // One sentence for every case: the answer tells nothing about the address or the port.
    expect(answers.size).toBe(1);
    expect((await t.app.inject({ url: '/api/sessions', headers: auth })).json<{ data: unknown[] }>().data).toHaveLength(
      0,
    );
    // The reason is in the log, for the operator.
    expect(
      t.logs.lines.some(
        (l) => l.code === 'PROXY_NOT_ALLOWED' && String(l.detail).includes('localhost resolves to 127.0.0.1'),
      ),
    ).toBe(true);
    expect(trap.hits).toBe(0);
  });

  it('refuses a proxy on port 0', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'zero', proxy: 'http://93.184.215.14:0' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'PROXY_NOT_ALLOWED' });
  });

  it('refuses S3 endpoints at the same addresses on save, verified or not, with no contact', async () => {
    const answers = new Set<string>();
    for (const host of hosts()) {
      for (const verify of ['true', 'false']) {
        const res = await t.app.inject({
          method: 'PUT',
          url: `/api/account/settings?verify=${verify}`,
          headers: auth,
          payload: {
            s3: {
              endpoint: `http://${host}`,
              region: 'us-east-1',
              bucket: 'media-bucket',
              accessKeyId: 'k',
              secretAccessKey: 's',
              forcePathStyle: true,
            },
          },
        });
        expect(res.statusCode, host).toBe(400);
        expect(res.json()).toMatchObject({ code: 'S3_ENDPOINT_NOT_ALLOWED' });
        expect(res.body).not.toMatch(/127\.0\.0\.1|169\.254|10\.20|::1|ECONNREFUSED/);
        answers.add(res.json<{ error: string }>().error);
      }
    }
    expect(answers.size).toBe(1);
    expect(
      (await t.app.inject({ url: '/api/account/settings', headers: auth })).json<{ data: { s3: unknown } }>().data.s3,
    ).toBeNull();
    expect(trap.hits).toBe(0);
  });
});

/**
 * Addresses saved while the switches were on (another configuration of the same database, or a
 * name that resolved elsewhere at save time), then used by a server where they are off: the
 * check at connect time refuses the resolved address, and the listener never sees a connection.
 */
describe('the address policy at connect time', () => {
  let first: TestApp;
  let second: FastifyInstance;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  let cdn: FakeCdn;
  let auth: { authorization: string };

  beforeAll(async () => {
    trap = await startTrap();
    cdn = await startFakeCdn();
    first = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true', ...CDN });
    auth = (await first.newAccount()).auth;
    for (const [name, proxy] of [
      ['by-name', `http://u:p@localhost:${trap.port}`],
      ['by-address', `socks5://127.0.0.1:${trap.port}`],
    ]) {
      const res = await first.app.inject({
        method: 'POST',
        url: '/api/sessions',
        headers: auth,
        payload: { name, proxy },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const put = await first.app.inject({
      method: 'PUT',
      url: '/api/account/settings?verify=false',
      headers: auth,
      payload: {
        s3: {
          endpoint: `http://localhost:${trap.port}`,
          region: 'us-east-1',
          bucket: 'media-bucket',
          accessKeyId: 'k',
          secretAccessKey: 's',
          forcePathStyle: true,
        },
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    await first.app.close();
    second = await buildAppOn(first.db.reopen(), { SIMULATOR_ENABLED: 'true', ...CDN, ...STRICT });
  });
  afterAll(async () => {
    await second.close();
    await first.db.destroy();
    await Promise.all([trap.close(), cdn.close()]);
  });

  it('a download through a refused proxy is a generic CDN_UNAVAILABLE, and the proxy is never contacted', async () => {
    for (const session of ['by-name', 'by-address']) {
      const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(1000) });
      const { mediaId } = await ingestMessage({ app: second } as TestApp, auth, session, p.message);
      const res = await second.inject({
        method: 'POST',
        url: `/api/sessions/${session}/media/${mediaId}/download`,
        headers: auth,
      });
      expect(res.statusCode, res.body).toBe(502);
      expect(res.json()).toMatchObject({ code: 'CDN_UNAVAILABLE' });
      expect(res.body).not.toMatch(/resolves to|ADDRESS_BLOCKED|ECONNREFUSED/);
    }
    expect(cdn.requests.length).toBe(0);
    expect(trap.hits).toBe(0);
  });

  it('a session started with a refused proxy fails without contacting it', async () => {
    const res = await second.inject({ method: 'POST', url: '/api/sessions/by-name/start', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    await eventually(
      async () =>
        (await second.inject({ url: '/api/sessions/by-name', headers: auth })).json<{ data: { status: string } }>().data
          .status === 'DISCONNECTED'
          ? true
          : undefined,
      10_000,
      'the session to stop',
    );
    expect(JSON.stringify((await second.inject({ url: '/api/sessions/by-name', headers: auth })).json())).not.toContain(
      ':p@',
    );
    expect(trap.hits).toBe(0);
  });

  it('a persist to an endpoint whose name resolves to loopback fails with a generic STORAGE_FAILED, no contact', async () => {
    // A session without a proxy, so only the bucket's address is in play.
    const direct = await second.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'direct' },
    });
    expect(direct.statusCode, direct.body).toBe(201);
    const m = await ingestMessage(
      { app: second } as TestApp,
      auth,
      'direct',
      (await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(1000) })).message,
    );
    const res = await second.inject({
      method: 'POST',
      url: `/api/sessions/direct/media/${m.mediaId}/persist`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ code: 'STORAGE_FAILED' });
    expect(res.body).not.toMatch(/127\.0\.0\.1|localhost|resolves to|ECONNREFUSED/);
    expect(trap.hits).toBe(0);
  });
});
