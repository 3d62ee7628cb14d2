import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';

describe('MAX_CONCURRENT_TRANSFERS', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let base: string;
  let auth: { authorization: string };
  beforeAll(async () => {
    cdn = await startFakeCdn();
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true', MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*', MAX_CONCURRENT_TRANSFERS: '1' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    auth = (await t.newAccount()).auth;
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 's' } });
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
  });

  it('answers 503 BUSY with Retry-After over the limit, and frees the slot when a transfer ends (as /metrics shows)', async () => {
    const slow = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(2 * 1024 * 1024) });
    cdn.misbehave(slow.path, { slowBytesPerSec: 1024 * 1024 });
    const small = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(1000) });
    const a = (await ingestMessage(t, auth, 's', slow.message)).mediaId!;
    const b = (await ingestMessage(t, auth, 's', small.message)).mediaId!;
    const url = (id: string) => `${base}/api/sessions/s/media/${id}/download`;

    const first = await fetch(url(a), { method: 'POST', headers: auth });
    expect(first.status).toBe(200);
    const busy = await fetch(url(b), { method: 'POST', headers: auth });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(((await busy.json()) as { code: string }).code).toBe('BUSY');
    const during = await scrapeMetrics(t.app);
    expect([during.get('titan_media_transfers_active'), during.get('titan_media_transfers_max')]).toEqual([1, 1]);

    expect(Buffer.from(await first.arrayBuffer()).equals(slow.plaintext)).toBe(true);
    await expect.poll(async () => (await scrapeMetrics(t.app)).get('titan_media_transfers_active')).toBe(0);
    const after = await fetch(url(b), { method: 'POST', headers: auth });
    expect(after.status).toBe(200);
    expect(Buffer.from(await after.arrayBuffer()).equals(small.plaintext)).toBe(true);
  });

  it('records the verified SHA-256 after a full download', async () => {
    const m = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(3000), fields: { fileSha256: undefined } });
    const id = (await ingestMessage(t, auth, 's', m.message)).mediaId!;
    expect((await t.app.inject({ url: `/api/sessions/s/media/${id}`, headers: auth })).json().data.sha256).toBeNull();
    await (await fetch(`${base}/api/sessions/s/media/${id}/download`, { method: 'POST', headers: auth })).arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256').update(m.plaintext).digest('hex');
    expect((await t.app.inject({ url: `/api/sessions/s/media/${id}`, headers: auth })).json().data.sha256).toBe(expected);
  });
});
