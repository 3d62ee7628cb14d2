import { connect } from 'node:net';
import { parse as parseDisposition } from 'content-disposition';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { createBucket, headObject, settingsBody, testS3Client } from '../support/s3.js';

/** One raw HTTP/1.1 exchange: what a client that bypasses every library would see. */
function rawRequest(
  port: number,
  head: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top, ...rest] = text.split('\r\n\r\n');
      const [line, ...hs] = top!.split('\r\n');
      const headers = Object.fromEntries(
        hs.map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(line!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    s.end(head);
  });
}

describe('hostile input', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let auth: { authorization: string };
  let port: number;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-hostile');
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
    });
    auth = (await t.newAccount()).auth;
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'shop' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: auth,
      payload: settingsBody(bucket),
    });
    expect(put.statusCode, put.body).toBe(200);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });

  it('a URL too long for the parser is 414, headers too big are 431: both in the envelope, with X-Request-Id', async () => {
    const long = await rawRequest(port, `GET /api/sessions/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const big = await rawRequest(
      port,
      `GET /api/sessions HTTP/1.1\r\nHost: x\r\nX-Junk: ${'j'.repeat(20_000)}\r\n\r\n`,
    );
    for (const [r, status, code] of [
      [long, 414, 'URI_TOO_LONG'],
      [big, 431, 'HEADERS_TOO_LARGE'],
    ] as const) {
      expect(r.status).toBe(status);
      expect(JSON.parse(r.body)).toMatchObject({ code, error: expect.any(String) });
      expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('a path parameter over the router limit is 414 in the envelope, with X-Request-Id', async () => {
    const res = await t.app.inject({ url: `/api/sessions/${'a'.repeat(500)}`, headers: auth });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toMatchObject({ code: 'URI_TOO_LONG' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('a known path with the wrong method is 405 with Allow; an unknown path stays 404', async () => {
    const res = await t.app.inject({ method: 'PUT', url: '/api/sessions/shop', headers: auth });
    expect(res.statusCode).toBe(405);
    expect(res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    expect(res.headers.allow).toBe('DELETE, GET, HEAD');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/api/webhooks/wh_1/deliveries', headers: auth })).headers.allow,
    ).toBe('GET, HEAD');
    expect((await t.app.inject({ method: 'GET', url: '/api/nothing-here', headers: auth })).statusCode).toBe(404);
  });

  it('a text/plain body on a JSON route is 415; a body nested 5000 deep is 400 JSON_TOO_DEEP', async () => {
    const plain = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: '{"name":"x"}',
    });
    expect(plain.statusCode).toBe(415);
    expect(plain.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const deep = `{"name":"deep","config":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: deep,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'JSON_TOO_DEEP' });
    expect((await t.app.inject({ url: '/api/sessions/deep', headers: auth })).statusCode).toBe(404);
    // Brackets inside strings are not nesting.
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'brackets', config: { note: '[[[[{{{{'.repeat(100) } },
    });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('simulate/media with no body is a 400, not a 500', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/sessions/shop/simulate/media', headers: auth });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('a mimetype with CR/LF is stored as application/octet-stream (original kept) and downloads fine', async () => {
    const bad = 'text/html\r\nSet-Cookie: a=b';
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(2000), mimeType: bad });
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    const meta = await t.app.inject({ url: `/api/sessions/shop/media/${mediaId}`, headers: auth });
    expect(meta.json()).toMatchObject({ data: { mimeType: 'application/octet-stream', declaredMimeType: bad } });
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/download`,
      headers: auth,
    });
    expect(dl.statusCode).toBe(200);
    expect(dl.rawPayload.equals(p.plaintext)).toBe(true);
    expect(dl.headers['content-type']).toBe('application/octet-stream');
    expect(dl.headers['set-cookie']).toBeUndefined();
    expect(dl.headers['content-disposition']).toBe('attachment');
  });

  it.each([
    'text/html',
    'image/svg+xml',
    'application/xhtml+xml',
    'text/xml',
    'application/javascript',
    'application/x-unknown',
  ])('%s media downloads as an attachment with nosniff, and is stored in S3 the same way', async (type) => {
    const p = await publishMedia(cdn, {
      type: 'image',
      plaintext: Buffer.from('<script>alert(1)</script>'),
      mimeType: type,
    });
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/download`,
      headers: auth,
    });
    expect(dl.statusCode).toBe(200);
    expect(dl.headers['content-type']).toBe(type);
    expect(dl.headers['x-content-type-options']).toBe('nosniff');
    expect(dl.headers['content-disposition']).toBe('attachment');
    const persisted = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/persist`,
      headers: auth,
    });
    expect(persisted.statusCode, persisted.body).toBe(200);
    const head = await headObject(s3, bucket, persisted.json<{ data: { key: string } }>().data.key);
    expect(head.ContentType).toBe(type);
    expect(head.ContentDisposition).toBe('attachment');
  });

  it('passive types stay inline, still with nosniff', async () => {
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(500) });
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/download`,
      headers: auth,
    });
    expect(dl.headers['content-type']).toBe('image/jpeg');
    expect(dl.headers['x-content-type-options']).toBe('nosniff');
    expect(dl.headers['content-disposition']).toBeUndefined();
  });

  it.each([
    ["quotes ' ( ) * and percent %.pdf", "quotes ' ( ) * and percent %.pdf"],
    ['\u202Efdp.exe', 'fdp.exe'],
    ['line\r\nbreak\u0007\u001b.pdf', 'linebreak.pdf'],
    ['"quoted\\".pdf', '"quoted\\".pdf'],
    ['Relatório 📄 final.pdf', 'Relatório 📄 final.pdf'],
    ['../../etc/passwd', '../../etc/passwd'],
  ])('the Content-Disposition for %j passes the content-disposition parser', async (name, expected) => {
    const p = await publishMedia(cdn, { type: 'document', plaintext: plaintextOf(100), fileName: name });
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/download`,
      headers: auth,
    });
    expect(dl.statusCode).toBe(200);
    const parsed = parseDisposition(String(dl.headers['content-disposition']));
    expect(parsed.type).toBe('attachment');
    expect(parsed.parameters.filename).toBe(expected);
  });

  it('a 5000-character file name is capped at 200 characters', async () => {
    const p = await publishMedia(cdn, {
      type: 'document',
      plaintext: plaintextOf(100),
      fileName: `${'ü'.repeat(5000)}.pdf`,
    });
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/download`,
      headers: auth,
    });
    const header = String(dl.headers['content-disposition']);
    expect(header.length).toBeLessThan(2000);
    expect([...parseDisposition(header).parameters.filename!]).toHaveLength(200);
  });

  it('sensitive query parameters never reach the log; request lines carry the route pattern', async () => {
    await t.app.inject({
      url: '/api/sessions/shop?token=titan_SECRET1&X-Amz-Signature=SIG2&api_key=SECRET3&keep=visible',
      headers: auth,
    });
    const text = t.logs.text();
    expect(text).not.toMatch(/titan_SECRET1|SIG2|SECRET3/);
    const line = t.logs.lines.find((l) => l.msg === 'request' && String(l.url).includes('keep=visible'))!;
    expect(line.url).toBe(
      '/api/sessions/shop?token=[redacted]&X-Amz-Signature=[redacted]&api_key=[redacted]&keep=visible',
    );
    expect(line.route).toBe('/api/sessions/:session');
  });
});
