import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.js';
import { plaintextOf } from './support/media.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('sandbox simulator', () => {
  let t: TestApp;
  let base: string;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true', MAX_MEDIA_BYTES: String(4 * 1024 * 1024) });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    auth = (await t.newAccount()).auth;
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'demo' } });
  });
  afterAll(() => t.close());

  async function simulate(body: Buffer, contentType: string, query = '') {
    const res = await fetch(`${base}/api/sessions/demo/simulate/media${query}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': contentType },
      body,
    });
    return {
      status: res.status,
      json: (await res.json()) as { data: { messageId: string; mediaId: string }; code?: string },
    };
  }

  it('encrypts an upload like WhatsApp, hosts it, ingests it, and the download returns the same bytes', async () => {
    const photo = plaintextOf(700_000);
    const r = await simulate(photo, 'image/jpeg', '?caption=Hello&from=%2B1%20555%20000%201111');
    expect(r.status).toBe(201);
    const { mediaId, messageId } = r.json.data;
    expect(messageId).toMatch(/^3EB0/);
    const meta = (await t.app.inject({ url: `/api/sessions/demo/media/${mediaId}`, headers: auth })).json().data;
    expect(meta).toMatchObject({
      type: 'image',
      mimeType: 'image/jpeg',
      fileLength: photo.length,
      caption: 'Hello',
      sha256: sha(photo),
    });
    const dl = await fetch(`${base}/api/sessions/demo/media/${mediaId}/download`, { method: 'POST', headers: auth });
    expect(dl.status).toBe(200);
    expect(sha(Buffer.from(await dl.arrayBuffer()))).toBe(sha(photo));
    // The simulated CDN holds only the encrypted file: not the plaintext.
    const row = await t.db.store.db
      .selectFrom('media')
      .select('url')
      .where('id', '=', mediaId)
      .executeTakeFirstOrThrow();
    const enc = Buffer.from(await (await fetch(row.url!)).arrayBuffer());
    expect(enc.length).toBe((Math.floor(photo.length / 16) + 1) * 16 + 10);
    expect(enc.includes(photo.subarray(0, 64))).toBe(false);
  });

  it.each([
    ['application/pdf', '?fileName=invoice.pdf', 'document', 'invoice.pdf'],
    ['image/webp', '', 'sticker', null],
    ['audio/ogg', '', 'audio', null],
    ['video/mp4', '', 'video', null],
    ['image/png', '?type=document&fileName=scan.png', 'document', 'scan.png'],
  ])('a %s upload%s becomes a %s', async (mime, query, type, fileName) => {
    const r = await simulate(plaintextOf(100), mime, query);
    expect(r.status).toBe(201);
    const meta = (await t.app.inject({ url: `/api/sessions/demo/media/${r.json.data.mediaId}`, headers: auth })).json()
      .data;
    expect(meta).toMatchObject({ type, fileName, mimeType: mime });
  });

  it('refuses an upload over MAX_MEDIA_BYTES with 413 and keeps no file', async () => {
    const r = await simulate(plaintextOf(5 * 1024 * 1024), 'video/mp4');
    expect(r.status).toBe(413);
    expect(r.json.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('404 for an unknown session, and the simulated CDN serves no unknown file', async () => {
    const res = await fetch(`${base}/api/sessions/nope/simulate/media`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/jpeg' },
      body: Buffer.alloc(10),
    });
    expect(res.status).toBe(404);
    expect((await fetch(`${base}/simulator/cdn/${'0'.repeat(32)}.enc`)).status).toBe(404);
    expect((await fetch(`${base}/simulator/cdn/..%2F..%2Fsecret.key`)).status).toBe(404);
  });
});

describe('simulator off', () => {
  it('has no simulator routes', async () => {
    const t = await buildTestApp('sqlite');
    try {
      const auth = (await t.newAccount()).auth;
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'demo' } });
      for (const url of ['/api/sessions/demo/simulate/media', '/api/sessions/demo/simulate/message']) {
        const res = await t.app.inject({ method: 'POST', url, headers: auth, payload: {} });
        expect(res.statusCode).toBe(404);
      }
      expect((await t.app.inject(`/simulator/cdn/${'0'.repeat(32)}.enc`)).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('sandbox simulator switched off (the default)', () => {
  it('answers its routes with 404 SIMULATOR_DISABLED, after authentication', async () => {
    const t = await buildTestApp('sqlite');
    try {
      const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { auth } = await t.newAccount();
      const url = `${base}/api/sessions/demo/simulate/media`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'image/jpeg' },
        body: plaintextOf(300_000),
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('SIMULATOR_DISABLED');
      const msg = await t.app.inject({
        method: 'POST',
        url: '/api/sessions/demo/simulate/message',
        headers: auth,
        payload: {},
      });
      expect([msg.statusCode, msg.json<{ code: string }>().code]).toEqual([404, 'SIMULATOR_DISABLED']);
      expect(
        (await t.app.inject({ method: 'POST', url: '/api/sessions/demo/simulate/message', payload: {} })).statusCode,
      ).toBe(401);
    } finally {
      await t.close();
    }
  });
});
