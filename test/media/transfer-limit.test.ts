import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { createBucket, settingsBody, testS3Client } from '../support/s3.js';

describe('MAX_CONCURRENT_TRANSFERS', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let base: string;
  let auth: { authorization: string };
  let s3: S3Client;
  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    const bucket = await createBucket(s3);
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      MAX_CONCURRENT_TRANSFERS: '1',
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    auth = (await t.newAccount()).auth;
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 's' } });
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/account/settings',
          headers: auth,
          payload: settingsBody(bucket),
        })
      ).statusCode,
    ).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
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
    const m = await publishMedia(cdn, {
      type: 'image',
      plaintext: plaintextOf(3000),
      fields: { fileSha256: undefined },
    });
    const id = (await ingestMessage(t, auth, 's', m.message)).mediaId!;
    expect((await t.app.inject({ url: `/api/sessions/s/media/${id}`, headers: auth })).json().data.sha256).toBeNull();
    await (await fetch(`${base}/api/sessions/s/media/${id}/download`, { method: 'POST', headers: auth })).arrayBuffer();
    const expected = createHash('sha256').update(m.plaintext).digest('hex');
    // Recorded after the response ended: wait for the row to say so.
    await expect
      .poll(
        async () =>
          (await t.app.inject({ url: `/api/sessions/s/media/${id}`, headers: auth })).json<{
            data: { sha256: string | null };
          }>().data.sha256,
      )
      .toBe(expected);
  });

  it('a download served from the bucket holds a slot too, until its body closes', async () => {
    const m = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(8 * 1024 * 1024) });
    const id = (await ingestMessage(t, auth, 's', m.message)).mediaId!;
    const other = (
      await ingestMessage(
        t,
        auth,
        's',
        (await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(1000) })).message,
      )
    ).mediaId!;
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/sessions/s/media/${id}/persist`, headers: auth })).statusCode,
    ).toBe(200);
    cdn.misbehave(m.path, { status: 410 });
    const url = (mid: string) => `${base}/api/sessions/s/media/${mid}/download`;

    // Headers only: the body (8 MiB, more than the socket buffers) is not read yet.
    const stored = await fetch(url(id), { method: 'POST', headers: auth });
    expect(stored.status).toBe(200);
    expect((await scrapeMetrics(t.app)).get('titan_media_transfers_active')).toBe(1);
    const busy = await fetch(url(other), { method: 'POST', headers: auth });
    expect(busy.status).toBe(503);
    expect(((await busy.json()) as { code: string }).code).toBe('BUSY');

    expect(Buffer.from(await stored.arrayBuffer()).equals(m.plaintext)).toBe(true);
    await expect.poll(async () => (await scrapeMetrics(t.app)).get('titan_media_transfers_active')).toBe(0);
  });
});
