import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TYPES, type MediaType } from '../../src/media/media-type.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import {
  createBucket,
  getObject,
  listKeys,
  listVersions,
  pendingUploads,
  s3Endpoint,
  serverS3Env,
  settingsBody,
  testS3Client,
} from '../support/s3.js';

const PART = 5 * 1024 * 1024;

describe.each(DIALECTS)('persist to S3 (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let base: string;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      S3_PART_SIZE_BYTES: String(PART),
      S3_QUEUE_SIZE: '2',
      CDN_MAX_RETRIES: '1',
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: settingsBody(bucket, { keyPrefix: 'wa/' }),
    });
    expect(put.statusCode, put.body).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });

  const persist = (mediaId: string, auth = a.auth, session = 'shop') =>
    t.app.inject({ method: 'POST', url: `/api/sessions/${session}/media/${mediaId}/persist`, headers: auth });
  async function published(opts: Parameters<typeof publishMedia>[1], auth = a.auth) {
    const p = await publishMedia(cdn, opts);
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    return { ...p, mediaId: mediaId! };
  }
  const cdnRequests = (path: string) => cdn.requests.filter((r) => r.path === path).length;

  const cases: [MediaType, number][] = [
    ...MEDIA_TYPES.map((type): [MediaType, number] => [type, 1000]),
    ['video', PART - 1],
    ['video', PART],
    ['video', 2 * PART + 12345],
  ];
  it.each(cases)('stores a %s of %i bytes: object bytes, type and metadata equal the plaintext', async (type, size) => {
    const m = await published({ type, plaintext: plaintextOf(size) });
    const res = await persist(m.mediaId);
    expect(res.statusCode, res.body).toBe(200);
    const data = res.json().data;
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
    expect(data.key).toMatch(new RegExp(`^wa/shop/${today}/${m.mediaId}\\.[a-z0-9]+$`));
    expect(data).toMatchObject({ bucket, size, sha256: sha256(m.plaintext) });
    const obj = await getObject(s3, bucket, data.key);
    expect(obj.bytes.length).toBe(size);
    expect(sha256(obj.bytes)).toBe(sha256(m.plaintext));
    expect(obj.contentType).toBe(data.mimeType);
    expect(obj.metadata).toMatchObject({
      'media-id': m.mediaId,
      session: 'shop',
      'message-id': expect.any(String),
      sha256: sha256(m.plaintext),
    });
    // The URL handed out works.
    const viaUrl = await fetch(data.url);
    expect(sha256(Buffer.from(await viaUrl.arrayBuffer()))).toBe(sha256(m.plaintext));
    // The media object now says so, with a freshly minted URL.
    const meta = (await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: a.auth })).json().data;
    expect(meta).toMatchObject({
      persisted: true,
      s3Url: expect.stringContaining(data.key.split('/').pop()),
      persistedAt: expect.any(String),
    });
  });

  it('is idempotent: a second call answers the same object, with no second upload', async () => {
    const m = await published({ type: 'image', plaintext: plaintextOf(50_000) });
    const first = (await persist(m.mediaId)).json().data;
    const second = await persist(m.mediaId);
    expect(second.statusCode).toBe(200);
    expect(second.json().data).toMatchObject({ key: first.key, bucket, size: first.size, sha256: first.sha256 });
    expect(cdnRequests(m.path)).toBe(1);
    expect(await listVersions(s3, bucket, first.key)).toHaveLength(1);
  });

  it('8 concurrent calls share one upload and get identical answers', async () => {
    const m = await published({ type: 'video', plaintext: plaintextOf(PART + 1000) });
    const results = await Promise.all(Array.from({ length: 8 }, () => persist(m.mediaId)));
    expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
    const bodies = results.map((r) => r.body);
    expect(new Set(bodies).size).toBe(1);
    expect(cdnRequests(m.path)).toBe(1);
    expect(await listVersions(s3, bucket, results[0]!.json().data.key)).toHaveLength(1);
  });

  it.each([
    ['small (one part)', 3000],
    ['large (multipart)', 2 * PART + 7],
  ])('a tampered %s file → 502, no object, no multipart upload left, record unchanged', async (_n, size) => {
    const m = await published({ type: 'video', plaintext: plaintextOf(size) });
    cdn.misbehave(m.path, { tamperAt: m.encrypted.length - 3 });
    const res = await persist(m.mediaId);
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('MEDIA_INTEGRITY_FAILED');
    expect((await listKeys(s3, bucket)).filter((k) => k.includes(m.mediaId))).toEqual([]);
    expect(await pendingUploads(s3, bucket)).toEqual([]);
    const meta = (await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: a.auth })).json().data;
    expect(meta).toMatchObject({ persisted: false, s3Url: null });
  });

  it('the CDN failing mid-upload → clean error, nothing left, and a later persist succeeds', async () => {
    const m = await published({ type: 'video', plaintext: plaintextOf(3 * PART) });
    // Cut the body at 70% on every try, past the first parts.
    cdn.misbehave(m.path, { cutAt: 0.7, times: 2 });
    const res = await persist(m.mediaId);
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('CDN_UNAVAILABLE');
    expect(await pendingUploads(s3, bucket)).toEqual([]);
    expect((await listKeys(s3, bucket)).filter((k) => k.includes(m.mediaId))).toEqual([]);
    const again = await persist(m.mediaId);
    expect(again.statusCode).toBe(200);
    expect(sha256((await getObject(s3, bucket, again.json().data.key)).bytes)).toBe(sha256(m.plaintext));
  });

  it('storage refusing (wrong credentials) → 502 STORAGE_FAILED, nothing left; fixed settings → success', async () => {
    const b = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: b.auth, payload: { name: 'shop' } });
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings?verify=false',
      headers: b.auth,
      payload: settingsBody(bucket, { secretAccessKey: 'wrong-secret-wrong-secret' }),
    });
    expect(bad.statusCode).toBe(200);
    const m = await published({ type: 'video', plaintext: plaintextOf(PART + 10) }, b.auth);
    const res = await persist(m.mediaId, b.auth);
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({
      code: 'STORAGE_FAILED',
      error: expect.stringMatching(/SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId|403/),
    });
    expect(await pendingUploads(s3, bucket)).toEqual([]);
    expect(
      (await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: b.auth })).json().data.persisted,
    ).toBe(false);
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/account/settings',
          headers: b.auth,
          payload: settingsBody(bucket),
        })
      ).statusCode,
    ).toBe(200);
    const ok = await persist(m.mediaId, b.auth);
    expect(ok.statusCode).toBe(200);
  });

  it('after persist, download streams from the bucket even when the CDN copy is gone (Range too)', async () => {
    const m = await published({ type: 'video', plaintext: plaintextOf(300_000) });
    expect((await persist(m.mediaId)).statusCode).toBe(200);
    cdn.misbehave(m.path, { status: 410 });
    const res = await fetch(`${base}/api/sessions/shop/media/${m.mediaId}/download`, {
      method: 'POST',
      headers: a.auth,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(m.plaintext));
    const part = await fetch(`${base}/api/sessions/shop/media/${m.mediaId}/download`, {
      method: 'POST',
      headers: { ...a.auth, range: 'bytes=1000-1999' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 1000-1999/300000');
    expect(Buffer.from(await part.arrayBuffer()).equals(m.plaintext.subarray(1000, 2000))).toBe(true);
  });

  it('redirect mode → 302 to a URL that returns the bytes', async () => {
    const c = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: c.auth, payload: { name: 'shop' } });
    await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: c.auth,
      payload: { ...settingsBody(bucket), downloadMode: 'redirect' },
    });
    const m = await published({ type: 'image', plaintext: plaintextOf(12_345) }, c.auth);
    expect((await persist(m.mediaId, c.auth)).statusCode).toBe(200);
    const res = await fetch(`${base}/api/sessions/shop/media/${m.mediaId}/download`, {
      method: 'POST',
      headers: c.auth,
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location).toContain('X-Amz-Signature');
    expect(sha256(Buffer.from(await (await fetch(location)).arrayBuffer()))).toBe(sha256(m.plaintext));
  });

  it('never returns the secret, and stores it only sealed', async () => {
    const res = await t.app.inject({ url: '/api/account/settings', headers: a.auth });
    expect(res.statusCode).toBe(200);
    const secret = settingsBody(bucket).s3.secretAccessKey;
    expect(res.body).not.toContain(secret);
    expect(res.json().data).toMatchObject({
      s3: { bucket, secretAccessKeySet: true, keyPrefix: 'wa/' },
      storage: 'account',
      downloadMode: 'stream',
      autoPersist: false,
    });
    const row = await t.db.store.db
      .selectFrom('account_settings')
      .selectAll()
      .where('account_id', '=', a.accountId)
      .executeTakeFirstOrThrow();
    expect(row.s3).not.toContain(secret);
    // Omitting the secret on PUT keeps the stored one.
    const again = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: { s3: { ...settingsBody(bucket, { keyPrefix: 'wa/' }).s3, secretAccessKey: undefined } },
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().data.s3.secretAccessKeySet).toBe(true);
  });

  it.each([
    ['a bucket that does not exist', { bucket: 'no-such-bucket-titan' }, /does not exist/],
    ['a wrong secret', { secretAccessKey: 'definitely-not-the-secret' }, /denied|SignatureDoesNotMatch|403/],
  ])('invalid settings (%s) → 400 S3_SETTINGS_INVALID with the reason', async (_n, extra, reason) => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: settingsBody(bucket, extra),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'S3_SETTINGS_INVALID', error: expect.stringMatching(reason) });
    // The previous settings stay.
    expect((await t.app.inject({ url: '/api/account/settings', headers: a.auth })).json().data.s3.bucket).toBe(bucket);
  });

  it('keeps accounts apart: no settings of B visible to A, and no bucket → 400 S3_NOT_CONFIGURED', async () => {
    const d = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: d.auth, payload: { name: 'shop' } });
    const view = (await t.app.inject({ url: '/api/account/settings', headers: d.auth })).json().data;
    expect(view).toMatchObject({ s3: null, storage: 'none' });
    const m = await published({ type: 'image', plaintext: plaintextOf(10) }, d.auth);
    const res = await persist(m.mediaId, d.auth);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('S3_NOT_CONFIGURED');
    // A's media is not reachable through D (404), so D cannot persist it into D's bucket.
    const mine = await published({ type: 'image', plaintext: plaintextOf(10) });
    expect((await persist(mine.mediaId, d.auth)).statusCode).toBe(404);
  });

  it('needs media:write to persist and settings:manage for settings', async () => {
    const k = await t.newKey(a.accountId, ['media:read']);
    const m = await published({ type: 'image', plaintext: plaintextOf(10) });
    expect((await persist(m.mediaId, k.auth)).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/api/account/settings', headers: k.auth })).statusCode).toBe(403);
  });
});

describe.each(DIALECTS)('server-wide default bucket (%s)', (dialect) => {
  it('is used by accounts without settings, with public URLs when S3_PUBLIC_BASE_URL is set', async () => {
    const cdn = await startFakeCdn();
    const s3 = testS3Client();
    const bucket = await createBucket(s3, 'titan-default');
    const e = s3Endpoint();
    const t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      ...serverS3Env(bucket),
      S3_PUBLIC_BASE_URL: `${e.endpoint}/${bucket}`,
    });
    try {
      const a = await t.newAccount();
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 's' } });
      expect((await t.app.inject({ url: '/api/account/settings', headers: a.auth })).json().data.storage).toBe(
        'server',
      );
      const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(2000) });
      const { mediaId } = await ingestMessage(t, a.auth, 's', p.message);
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/sessions/s/media/${mediaId}/persist`,
        headers: a.auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      const data = res.json().data;
      expect(data.url).toBe(`${e.endpoint}/${bucket}/${data.key}`);
      const obj = await getObject(s3, bucket, data.key);
      expect(createHash('sha256').update(obj.bytes).digest('hex')).toBe(sha256(p.plaintext));
    } finally {
      await t.close();
      await cdn.close();
      s3.destroy();
    }
  });
});
