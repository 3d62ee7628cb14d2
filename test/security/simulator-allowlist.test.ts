import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMediaKey } from '../../src/media/encrypt-stream.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { ingestMessage, plaintextOf } from '../support/media.js';

// With the simulator on, this server is a CDN origin, but only its /simulator/cdn/ path is.
describe.each([
  ['the default allowlist', {}],
  ['an allowlist that covers the server itself', { MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*' }],
])("the simulator's CDN entry, with %s", (_label, env) => {
  let t: TestApp;
  let base: string;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true', ...env });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    auth = (await t.newAccount()).auth;
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'demo' } });
  });
  afterAll(() => t.close());

  const pointingAt = (url: string) => ({
    key: {
      remoteJid: '15550001111@s.whatsapp.net',
      fromMe: false,
      id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
    },
    messageTimestamp: 1_764_000_000,
    message: {
      imageMessage: { url, mimetype: 'image/jpeg', mediaKey: generateMediaKey().toString('base64'), fileLength: 10 },
    },
  });

  it.each([
    '/metrics',
    '/admin/accounts',
    '/simulator/cdn/../../metrics',
    '/simulator/cdn/%2e%2e/%2e%2e/metrics',
    '/api/sessions',
  ])('a message url to the server’s own %s is refused, never fetched', async (path) => {
    const { mediaId } = await ingestMessage(t, auth, 'demo', pointingAt(`${base}${path}`));
    const before = t.logs.lines.filter((l) => l.msg === 'request').length;
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/demo/media/${mediaId}/download`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ code: 'CDN_HOST_NOT_ALLOWED' });
    // The only request the server saw was the download itself.
    const lines = t.logs.lines.filter((l) => l.msg === 'request').slice(before);
    expect(lines.map((l) => l.route)).toEqual(['/api/sessions/:session/media/:mediaId/download']);
  });

  it('the simulated CDN itself still works', async () => {
    const photo = plaintextOf(5000);
    const up = await fetch(`${base}/api/sessions/demo/simulate/media`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/jpeg' },
      body: photo,
    });
    expect(up.status).toBe(201);
    const { mediaId } = ((await up.json()) as { data: { mediaId: string } }).data;
    const dl = await fetch(`${base}/api/sessions/demo/media/${mediaId}/download`, { method: 'POST', headers: auth });
    expect(dl.status).toBe(200);
    expect(Buffer.from(await dl.arrayBuffer()).equals(photo)).toBe(true);
  });
});
