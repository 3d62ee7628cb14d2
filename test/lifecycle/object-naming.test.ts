import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse as parseDisposition } from 'content-disposition';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extensionFor, objectKey } from '../../src/storage/object-key.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, s3Endpoint, settingsBody, testS3Client } from '../support/s3.js';
import { startS3Recorder, type S3Recorder } from '../support/s3-recorder.js';

describe('extensions of stored objects', () => {
  it.each([
    ['text/vcard', 'vcf'],
    ['text/x-vcard', 'vcf'],
    ['application/vnd.android.package-archive', 'apk'],
    ['video/x-matroska', 'mkv'],
    ['application/epub+zip', 'epub'],
    ['application/vnd.oasis.opendocument.text', 'odt'],
    ['application/vnd.rar', 'rar'],
    ['application/x-7z-compressed', '7z'],
    ['image/jpeg', 'jpg'],
    ['audio/ogg; codecs=opus', 'ogg'],
    ['application/vnd.ms-excel', 'xls'],
    ['image/avif', 'avif'], // from mime-db, not our overrides
    ['application/x-something-unheard-of', 'bin'],
  ])('%s → .%s', (mime, ext) => expect(extensionFor(mime)).toBe(ext));

  it('takes the file name’s extension first, a MIME type’s when the name has none', () => {
    const base = { keyPrefix: 'p/', session: 's', mediaId: 'M', createdAt: '2026-11-30T10:00:00.000Z' };
    expect(objectKey({ ...base, mimeType: 'application/octet-stream', fileName: 'backup.TAR' })).toBe(
      'p/s/2026/11/30/M.tar',
    );
    expect(objectKey({ ...base, mimeType: 'text/vcard', fileName: 'Alice Example' })).toBe('p/s/2026/11/30/M.vcf');
    expect(objectKey({ ...base, mimeType: 'application/pdf', fileName: 'weird.name.with a space' })).toBe(
      'p/s/2026/11/30/M.pdf',
    );
  });
});

describe.each(DIALECTS)('objects that stand on their own (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let recorder: S3Recorder;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-names');
    recorder = await startS3Recorder(s3Endpoint().endpoint);
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '0',
    });
    a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: settingsBody(bucket, { endpoint: recorder.endpoint }),
    });
    expect(put.statusCode, put.body).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    await recorder.close();
    s3.destroy();
  });

  async function stored(opts: Parameters<typeof publishMedia>[1]) {
    const p = await publishMedia(cdn, opts);
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/persist`,
      headers: a.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return { ...p, mediaId: mediaId!, data: res.json<{ data: { key: string; url: string } }>().data };
  }

  it('a document carries its file name: on the object (HeadObject) and on the presigned URL’s response', async () => {
    const name = 'Factura 2026-11 – Müller.pdf';
    const d = await stored({ type: 'document', plaintext: plaintextOf(40_000), fileName: name });
    expect(d.data.key).toMatch(new RegExp(`/${d.mediaId}\\.pdf$`));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: d.data.key }));
    const expected = `attachment; filename="Factura 2026-11 ? M?ller.pdf"; filename*=UTF-8''${encodeURIComponent(name).replace(/'/g, '%27')}`;
    expect(head.ContentDisposition).toBe(expected);
    expect(head.ContentType).toBe('application/pdf');
    expect(head.Metadata).toMatchObject({
      type: 'document',
      'file-name': encodeURIComponent(name),
      sha256: sha256(d.plaintext),
      'media-id': d.mediaId,
    });

    // The presigned URL (persist's answer and the media object's s3Url) makes S3 answer with the name.
    const meta = (await t.app.inject({ url: `/api/sessions/shop/media/${d.mediaId}`, headers: a.auth })).json<{
      data: { s3Url: string };
    }>().data;
    for (const url of [d.data.url, meta.s3Url]) {
      expect(new URL(url).searchParams.get('response-content-disposition')).toBe(expected);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(expected);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(d.plaintext));
    }
  });

  it('a vCard gets .vcf; a photo gets .jpg, no Content-Disposition on the object, an inline name on its URL', async () => {
    const v = await stored({
      type: 'document',
      plaintext: Buffer.from('BEGIN:VCARD\nVERSION:3.0\nFN:Alice\nEND:VCARD\n'),
      mimeType: 'text/vcard',
      fileName: 'Alice',
    });
    expect(v.data.key).toMatch(/\.vcf$/);
    const photo = await stored({ type: 'image', plaintext: plaintextOf(5000) });
    expect(photo.data.key).toMatch(new RegExp(`/${photo.mediaId}\\.jpg$`));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: photo.data.key }));
    expect(head.ContentDisposition).toBeUndefined();
    expect(head.Metadata).toMatchObject({ type: 'image', 'file-name': `${photo.mediaId}.jpg` });
    const res = await fetch(photo.data.url);
    expect(parseDisposition(res.headers.get('content-disposition')!)).toEqual({
      type: 'inline',
      parameters: { filename: `${photo.mediaId}.jpg` },
    });
  });

  it('S3_CHECKSUMS=auto: this gateway ignores checksums, so none are sent, and persist works', async () => {
    const before = recorder.requests.length;
    await stored({ type: 'video', plaintext: plaintextOf(6 * 1024 * 1024 + 100) });
    const uploads = recorder.requests
      .slice(before)
      .filter((r) => r.method === 'PUT' && !r.url.includes('checksum-probe'));
    expect(uploads.length).toBeGreaterThanOrEqual(2);
    expect(uploads.every((r) => r.headers['x-amz-checksum-sha256'] === undefined)).toBe(true);
    // Detected once for the bucket: one probe pair, whatever the number of uploads.
    expect(recorder.requests.filter((r) => r.method === 'PUT' && r.url.includes('checksum-probe'))).toHaveLength(1);
    expect(
      t.logs.lines.filter((l) => l.msg === 'the store does not verify SHA-256 checksums: uploads go without them'),
    ).toHaveLength(1);
  });
});

describe('SHA-256 checksums where the store verifies them', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let recorder: S3Recorder;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    // The relay refuses mismatching checksums, as AWS S3 does: `auto` must find that out.
    recorder = await startS3Recorder(s3Endpoint().endpoint, { verify: true });
    t = await buildTestApp(DIALECTS[0]!, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '0',
    });
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    await recorder.close();
    s3.destroy();
  });

  it('auto: detects the verifying store, then every upload request carries the checksum of its bytes', async () => {
    const bucket = await createBucket(s3, 'titan-sums');
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/account/settings',
          headers: a.auth,
          payload: settingsBody(bucket, { endpoint: recorder.endpoint }),
        })
      ).statusCode,
    ).toBe(200);
    const persist = async (type: 'video' | 'image', size: number) => {
      const p = await publishMedia(cdn, { type, plaintext: plaintextOf(size) });
      const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/sessions/shop/media/${mediaId}/persist`,
        headers: a.auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      return { plaintext: p.plaintext, key: res.json<{ data: { key: string } }>().data.key };
    };
    const big = await persist('video', 11 * 1024 * 1024);
    const small = await persist('image', 3000);
    expect(t.logs.lines.some((l) => l.msg === 'the store verifies SHA-256 checksums: uploads carry them')).toBe(true);

    const to = (key: string) => recorder.requests.filter((r) => r.url.split('?')[0]!.endsWith(`/${key}`));
    const parts = to(big.key).filter((r) => r.method === 'PUT' && r.url.includes('partNumber='));
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.headers['x-amz-checksum-sha256']).toBe(p.bodySha256);
    expect(
      to(big.key).find((r) => r.method === 'POST' && r.url.includes('uploads'))?.headers['x-amz-checksum-algorithm'],
    ).toBe('SHA256');
    // A single-request object's checksum is the SHA-256 of the whole file.
    const [put] = to(small.key).filter((r) => r.method === 'PUT');
    expect(put!.headers['x-amz-checksum-sha256']).toBe(Buffer.from(sha256(small.plaintext), 'hex').toString('base64'));
    const obj = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: big.key }));
    expect(obj.ContentLength).toBe(11 * 1024 * 1024);
  });
});
