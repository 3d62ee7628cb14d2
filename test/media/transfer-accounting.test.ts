import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { createBucket, settingsBody, testS3Client } from '../support/s3.js';

const MAX = 6 * 1024 * 1024;

/** Every way a transfer ends gives one `transfer` line and one sample of the transfer series. */
describe('transfer accounting: one line and the series per transfer, whatever the end', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let base: string;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  let b: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    const bucket = await createBucket(s3);
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      MAX_MEDIA_BYTES: String(MAX),
      MAX_CONCURRENT_TRANSFERS: '1',
      CDN_MAX_RETRIES: '1',
      // With `auto`, the first upload to a bucket probes it with a PutObject of its own, which
      // these exact request counts would see too.
      S3_CHECKSUMS: 'off',
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    a = await t.newAccount();
    b = await t.newAccount();
    for (const acc of [a, b])
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: acc.auth, payload: { name: 'shop' } });
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/account/settings',
          headers: a.auth,
          payload: settingsBody(bucket),
        })
      ).statusCode,
    ).toBe(200);
    // Account b's bucket refuses every request: the storage is "down" for it.
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings?verify=false',
      headers: b.auth,
      payload: settingsBody(bucket, { secretAccessKey: 'wrong-secret-wrong-secret' }),
    });
    expect(bad.statusCode).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });

  async function published(size: number, opts: Partial<Parameters<typeof publishMedia>[1]> = {}, acc = a) {
    const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(size), ...opts });
    const { mediaId } = await ingestMessage(t, acc.auth, 'shop', p.message);
    return { ...p, mediaId: mediaId! };
  }
  const download = (mediaId: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${base}/api/sessions/shop/media/${mediaId}/download`, {
      method: 'POST',
      headers: { ...a.auth, ...headers },
      ...(signal ? { signal } : {}),
    });
  const persist = (mediaId: string, acc = a) =>
    t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${mediaId}/persist`, headers: acc.auth });

  /** The one transfer line of a media (waits for it, fails on a second). */
  async function transferLine(mediaId: string, kind: string) {
    const of = () => t.logs.lines.filter((l) => l.msg === 'transfer' && l.mediaId === mediaId && l.transfer === kind);
    await expect.poll(() => of().length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(of()).toHaveLength(1);
    return of()[0]!;
  }
  const requestLines = (reqId: string) => t.logs.lines.filter((l) => l.msg === 'request' && l.reqId === reqId);

  /** Deltas of the named series between `before` and now. */
  async function deltas(before: Map<string, number>, names: string[]) {
    const now = await scrapeMetrics(t.app);
    return Object.fromEntries(names.map((n) => [n, (now.get(n) ?? 0) - (before.get(n) ?? 0)]));
  }
  const transfers = (kind: string, outcome: string) =>
    `titan_media_transfers_total{kind="${kind}",outcome="${outcome}"}`;
  const bytes = (direction: string) => `titan_media_bytes_total{direction="${direction}"}`;

  it('completed download: bytes from the CDN and to the client, ids, size and duration', async () => {
    const m = await published(300_000);
    const before = await scrapeMetrics(t.app);
    const res = await download(m.mediaId);
    expect(Buffer.from(await res.arrayBuffer()).equals(m.plaintext)).toBe(true);
    const line = await transferLine(m.mediaId, 'download');
    expect(line).toMatchObject({
      outcome: 'completed',
      bytesIn: m.encrypted.length,
      bytesOut: m.plaintext.length,
      session: 'shop',
      accountId: a.accountId,
      reqId: res.headers.get('x-request-id'),
      throughProxy: false,
      resumes: 0,
      level: 30,
    });
    expect(line.code).toBeUndefined();
    expect(typeof line.ms).toBe('number');
    expect(
      await deltas(before, [
        transfers('download', 'completed'),
        bytes('client_out'),
        bytes('cdn_in'),
        'titan_media_transfer_size_bytes_count{kind="download"}',
        'titan_media_transfer_duration_seconds_count{kind="download"}',
      ]),
    ).toEqual({
      [transfers('download', 'completed')]: 1,
      [bytes('client_out')]: m.plaintext.length,
      [bytes('cdn_in')]: m.encrypted.length,
      'titan_media_transfer_size_bytes_count{kind="download"}': 1,
      'titan_media_transfer_duration_seconds_count{kind="download"}': 1,
    });
  });

  it('range: its own kind, only the slice delivered', async () => {
    const m = await published(100_000);
    const before = await scrapeMetrics(t.app);
    const res = await download(m.mediaId, { range: 'bytes=40000-40999' });
    expect(res.status).toBe(206);
    expect((await res.arrayBuffer()).byteLength).toBe(1000);
    expect(await transferLine(m.mediaId, 'range')).toMatchObject({
      outcome: 'completed',
      bytesOut: 1000,
      bytesIn: 1024,
    });
    expect(await deltas(before, [transfers('range', 'completed')])).toEqual({ [transfers('range', 'completed')]: 1 });
  });

  it('a CDN body cut midway is resumed: resumes on the line and in titan_cdn_resumes_total; a 503 is a retry', async () => {
    const m = await published(1024 * 1024);
    cdn.misbehave(m.path, { cutAt: 0.5, times: 1 });
    const r = await published(2000);
    cdn.misbehave(r.path, { status: 503, times: 1 });
    const before = await scrapeMetrics(t.app);
    expect(Buffer.from(await (await download(m.mediaId)).arrayBuffer()).equals(m.plaintext)).toBe(true);
    expect(await transferLine(m.mediaId, 'download')).toMatchObject({
      outcome: 'completed',
      resumes: 1,
      bytesIn: m.encrypted.length,
    });
    expect((await download(r.mediaId)).status).toBe(200);
    expect(await transferLine(r.mediaId, 'download')).toMatchObject({ outcome: 'completed', resumes: 0 });
    expect(await deltas(before, ['titan_cdn_resumes_total', 'titan_cdn_retries_total'])).toEqual({
      titan_cdn_resumes_total: 1,
      titan_cdn_retries_total: 1,
    });
  });

  it('client gone mid-body: client_gone with the bytes delivered so far, and still one request line', async () => {
    const m = await published(5 * 1024 * 1024);
    cdn.misbehave(m.path, { slowBytesPerSec: 2 * 1024 * 1024 });
    const before = await scrapeMetrics(t.app);
    const controller = new AbortController();
    const res = await download(m.mediaId, {}, controller.signal);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 512 * 1024) got += (await reader.read()).value?.length ?? 0;
    controller.abort();
    const line = await transferLine(m.mediaId, 'download');
    expect(line).toMatchObject({ outcome: 'client_gone' });
    expect(line.bytesOut as number).toBeGreaterThanOrEqual(got);
    expect(line.bytesOut as number).toBeLessThan(m.plaintext.length);
    const reqId = res.headers.get('x-request-id')!;
    await expect.poll(() => requestLines(reqId).length).toBe(1);
    expect(requestLines(reqId)[0]).toMatchObject({
      statusCode: 200,
      clientGone: true,
      route: '/api/sessions/:session/media/:mediaId/download',
    });
    expect(await deltas(before, [transfers('download', 'client_gone')])).toEqual({
      [transfers('download', 'client_gone')]: 1,
    });
  });

  it('integrity failure after streaming began: integrity_failed, the code on the transfer and request lines, HTTP errors by code', async () => {
    const m = await published(3 * 1024 * 1024);
    cdn.misbehave(m.path, { tamperAt: m.encrypted.length - 3 });
    const before = await scrapeMetrics(t.app);
    const res = await download(m.mediaId);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    const line = await transferLine(m.mediaId, 'download');
    expect(line).toMatchObject({ outcome: 'integrity_failed', code: 'MEDIA_INTEGRITY_FAILED', level: 40 });
    expect(line.bytesOut as number).toBeGreaterThan(256 * 1024);
    const reqId = res.headers.get('x-request-id')!;
    await expect.poll(() => requestLines(reqId).length).toBe(1);
    expect(requestLines(reqId)[0]).toMatchObject({ code: 'MEDIA_INTEGRITY_FAILED', statusCode: 200 });
    expect(requestLines(reqId)[0]!.clientGone).toBeUndefined();
    expect(
      await deltas(before, [
        transfers('download', 'integrity_failed'),
        'titan_http_errors_total{code="MEDIA_INTEGRITY_FAILED"}',
      ]),
    ).toEqual({
      [transfers('download', 'integrity_failed')]: 1,
      'titan_http_errors_total{code="MEDIA_INTEGRITY_FAILED"}': 1,
    });
  });

  it('CDN down: 502 CDN_UNAVAILABLE, cdn_failed', async () => {
    const m = await published(2000);
    cdn.misbehave(m.path, { status: 503 });
    const before = await scrapeMetrics(t.app);
    const res = await download(m.mediaId);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { code: string }).code).toBe('CDN_UNAVAILABLE');
    expect(await transferLine(m.mediaId, 'download')).toMatchObject({
      outcome: 'cdn_failed',
      code: 'CDN_UNAVAILABLE',
      bytesOut: 0,
    });
    expect(
      await deltas(before, [transfers('download', 'cdn_failed'), 'titan_http_errors_total{code="CDN_UNAVAILABLE"}']),
    ).toEqual({
      [transfers('download', 'cdn_failed')]: 1,
      'titan_http_errors_total{code="CDN_UNAVAILABLE"}': 1,
    });
  });

  it('too large: 413, too_large', async () => {
    const m = await published(1000, { fields: { fileLength: MAX + 1 } });
    const before = await scrapeMetrics(t.app);
    expect((await download(m.mediaId)).status).toBe(413);
    expect(await transferLine(m.mediaId, 'download')).toMatchObject({ outcome: 'too_large', code: 'MEDIA_TOO_LARGE' });
    expect(await deltas(before, [transfers('download', 'too_large')])).toEqual({
      [transfers('download', 'too_large')]: 1,
    });
  });

  it('busy: 503, busy, while another transfer holds the only slot', async () => {
    const slow = await published(2 * 1024 * 1024);
    cdn.misbehave(slow.path, { slowBytesPerSec: 2 * 1024 * 1024 });
    const m = await published(1000);
    const before = await scrapeMetrics(t.app);
    const first = await download(slow.mediaId);
    const busy = await download(m.mediaId);
    expect(busy.status).toBe(503);
    await first.arrayBuffer();
    expect(await transferLine(m.mediaId, 'download')).toMatchObject({ outcome: 'busy', code: 'BUSY' });
    expect(await deltas(before, [transfers('download', 'busy'), transfers('download', 'completed')])).toEqual({
      [transfers('download', 'busy')]: 1,
      [transfers('download', 'completed')]: 1,
    });
  });

  it('persist, then a bucket read: S3 requests by operation, bytes to and from S3', async () => {
    const m = await published(300_000);
    const before = await scrapeMetrics(t.app);
    const res = await persist(m.mediaId);
    expect(res.statusCode, res.body).toBe(200);
    expect(await transferLine(m.mediaId, 'persist')).toMatchObject({
      outcome: 'completed',
      bytesIn: m.encrypted.length,
      bytesOut: m.plaintext.length,
      reqId: res.headers['x-request-id'],
    });
    // The object key is visible in the log (only secrets are redacted).
    expect(t.logs.lines.find((l) => l.msg === 'media persisted' && l.mediaId === m.mediaId)?.key).toBe(
      res.json().data.key,
    );
    const read = await download(m.mediaId);
    expect(Buffer.from(await read.arrayBuffer()).equals(m.plaintext)).toBe(true);
    expect(await transferLine(m.mediaId, 'bucket-read')).toMatchObject({
      outcome: 'completed',
      bytesIn: m.plaintext.length,
      bytesOut: m.plaintext.length,
    });
    const d = await deltas(before, [
      transfers('persist', 'completed'),
      transfers('bucket-read', 'completed'),
      bytes('s3_out'),
      bytes('s3_in'),
      'titan_s3_requests_total{operation="PutObject",outcome="ok"}',
      'titan_s3_requests_total{operation="GetObject",outcome="ok"}',
      'titan_s3_request_duration_seconds_count{operation="PutObject"}',
    ]);
    expect(d).toEqual({
      [transfers('persist', 'completed')]: 1,
      [transfers('bucket-read', 'completed')]: 1,
      [bytes('s3_out')]: m.plaintext.length,
      [bytes('s3_in')]: m.plaintext.length,
      'titan_s3_requests_total{operation="PutObject",outcome="ok"}': 1,
      'titan_s3_requests_total{operation="GetObject",outcome="ok"}': 1,
      'titan_s3_request_duration_seconds_count{operation="PutObject"}': 1,
    });
  });

  it('a persist whose client left: the request line says so, the persist goes on and completes', async () => {
    const m = await published(1024 * 1024);
    cdn.misbehave(m.path, { slowBytesPerSec: 1024 * 1024 });
    const controller = new AbortController();
    const reqId = 'persist-client-left-1';
    const call = fetch(`${base}/api/sessions/shop/media/${m.mediaId}/persist`, {
      method: 'POST',
      headers: { ...a.auth, 'x-request-id': reqId },
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await expect.poll(async () => (await scrapeMetrics(t.app)).get('titan_media_transfers_active')).toBe(1);
    controller.abort();
    expect(await call).toBeInstanceOf(Error);
    await expect.poll(() => requestLines(reqId).length).toBe(1);
    expect(requestLines(reqId)[0]).toMatchObject({
      clientGone: true,
      route: '/api/sessions/:session/media/:mediaId/persist',
    });
    expect(await transferLine(m.mediaId, 'persist')).toMatchObject({
      outcome: 'completed',
      reqId,
      bytesOut: m.plaintext.length,
    });
  });

  it('S3 down (the bucket refuses): 502 STORAGE_FAILED, storage_failed, S3 client errors counted', async () => {
    const m = await published(2000, {}, b);
    const before = await scrapeMetrics(t.app);
    const res = await persist(m.mediaId, b);
    expect(res.statusCode).toBe(502);
    expect(await transferLine(m.mediaId, 'persist')).toMatchObject({
      outcome: 'storage_failed',
      code: 'STORAGE_FAILED',
      accountId: b.accountId,
      level: 40,
    });
    expect(
      await deltas(before, [
        transfers('persist', 'storage_failed'),
        'titan_s3_requests_total{operation="PutObject",outcome="client_error"}',
      ]),
    ).toEqual({
      [transfers('persist', 'storage_failed')]: 1,
      'titan_s3_requests_total{operation="PutObject",outcome="client_error"}': 1,
    });
    // The secret of the refused settings never reaches the log.
    expect(t.logs.text()).not.toContain('wrong-secret-wrong-secret');
  });
});
