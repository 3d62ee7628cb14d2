import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { createBucket, pendingUploads, s3Endpoint, settingsBody, testS3Client } from '../support/s3.js';
import { startRelay } from '../support/freezable-relay.js';

describe('a transfer cut by the shutdown', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
    });
  });
  afterAll(async () => {
    await cdn.close();
    s3.destroy();
  });

  it('ends as aborted_shutdown, with one transfer line naming its job, and leaves nothing in the bucket', async () => {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: { ...settingsBody(bucket), autoPersist: true },
    });
    expect(put.statusCode, put.body).toBe(200);
    const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(2 * 1024 * 1024) });
    cdn.misbehave(p.path, { slowBytesPerSec: 256 * 1024 });
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    await expect.poll(async () => (await scrapeMetrics(t.app)).get('titan_media_transfers_active')).toBe(1);
    await t.close();
    const lines = t.logs.lines.filter((l) => l.msg === 'transfer' && l.mediaId === mediaId);
    expect(lines).toEqual([
      expect.objectContaining({
        transfer: 'auto-persist',
        outcome: 'aborted_shutdown',
        jobId: expect.any(String),
        level: 40,
      }),
    ]);
    expect(lines[0]!.bytesOut as number).toBeLessThan(p.plaintext.length);
    expect(await pendingUploads(s3, bucket)).toEqual([]);
  });

  it('a persist cut while the bucket is still being checked answers 503 SHUTTING_DOWN, and the cut stream harms nothing', async () => {
    // The store, through a relay that then hangs like a stopped server: the bucket's first check
    // (does it verify checksums?) waits, while the media stream is already open and not yet read.
    const target = new URL(s3Endpoint().endpoint);
    const relay = await startRelay({ host: target.hostname, port: Number(target.port) });
    const app = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
    });
    try {
      const a = await app.newAccount();
      await app.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
      const put = await app.app.inject({
        method: 'PUT',
        url: '/api/account/settings',
        headers: a.auth,
        payload: settingsBody(bucket, { endpoint: relay.endpoint }),
      });
      expect(put.statusCode, put.body).toBe(200);
      const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(1024 * 1024) });
      const { mediaId } = await ingestMessage(app, a.auth, 'shop', p.message);
      relay.freeze();
      const res = app.app.inject({
        method: 'POST',
        url: `/api/sessions/shop/media/${mediaId}/persist`,
        headers: a.auth,
      });
      await expect.poll(() => cdn.requests.filter((r) => r.path === p.path).length).toBeGreaterThan(0);
      await app.close();
      const r = await res;
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json().code).toBe('SHUTTING_DOWN');
      await expect.poll(() => cdn.openConnections).toBe(0);
    } finally {
      relay.thaw();
      await relay.close();
    }
  });
});
