import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TYPES } from '../../src/media/media-type.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { eventually } from '../support/fake-whatsapp.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';

const SIZES = [0, 1, 15, 16, 17, 1024 * 1024 + 3];

describe.each(DIALECTS)('download through HTTP (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let other: FakeCdn;
  let base: string;
  let auth: { authorization: string };

  beforeAll(async () => {
    cdn = await startFakeCdn();
    other = await startFakeCdn({ host: '127.0.0.2' });
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      MAX_MEDIA_BYTES: String(80 * 1024 * 1024),
      CDN_MAX_RETRIES: '3',
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    auth = (await t.newAccount()).auth;
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'shop' } }))
        .statusCode,
    ).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    await other.close();
  });

  const download = (mediaId: string, headers: Record<string, string> = {}, session = 'shop') =>
    fetch(`${base}/api/sessions/${session}/media/${mediaId}/download`, {
      method: 'POST',
      headers: { ...auth, ...headers },
    });

  async function publishAndIngest(opts: Parameters<typeof publishMedia>[1]) {
    const p = await publishMedia(cdn, opts);
    const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
    return { ...p, mediaId: mediaId! };
  }

  describe.each(MEDIA_TYPES)('%s', (type) => {
    it.each(SIZES)('returns exactly the plaintext of %i bytes', async (size) => {
      const m = await publishAndIngest({ type, plaintext: plaintextOf(size) });
      const res = await download(m.mediaId);
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(size);
      expect(sha256(body)).toBe(sha256(m.plaintext));
      expect(res.headers.get('content-length')).toBe(String(size));
      expect(res.headers.get('content-type')).toContain(
        (m.message.message as Record<string, { mimetype: string }>)[
          Object.keys(m.message.message as object)[0]!
        ]!.mimetype.split(';')[0],
      );
    });
  });

  it('streams a 64 MiB video with the same bytes', async () => {
    const m = await publishAndIngest({ type: 'video', plaintext: plaintextOf(64 * 1024 * 1024 + 5) });
    const res = await download(m.mediaId);
    expect(res.status).toBe(200);
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body!) {
      hash.update(chunk);
      n += chunk.length;
    }
    expect(n).toBe(m.plaintext.length);
    expect(hash.digest('hex')).toBe(sha256(m.plaintext));
  }, 120_000);

  it('names documents in Content-Disposition', async () => {
    const m = await publishAndIngest({
      type: 'document',
      plaintext: plaintextOf(100),
      fileName: 'Relatório final.pdf',
    });
    const res = await download(m.mediaId);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="Relat?rio final.pdf"; filename*=UTF-8''Relat%C3%B3rio%20final.pdf`,
    );
    const meta = await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: auth });
    expect(meta.json().data).toMatchObject({
      type: 'document',
      fileName: 'Relatório final.pdf',
      fileLength: 100,
      persisted: false,
      s3Url: null,
    });
  });

  describe('Range', () => {
    const size = 100_000;
    let m: Awaited<ReturnType<typeof publishAndIngest>>;
    beforeAll(async () => {
      m = await publishAndIngest({ type: 'video', plaintext: plaintextOf(size) });
    });

    it.each([
      ['first byte', 'bytes=0-0', 0, 0],
      ['middle', 'bytes=40000-40999', 40000, 40999],
      ['across a block boundary', 'bytes=15-16', 15, 16],
      ['last byte', `bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
      ['open end', 'bytes=99990-', 99990, size - 1],
      ['suffix', 'bytes=-33', size - 33, size - 1],
      ['end past the size', 'bytes=99000-200000', 99000, size - 1],
    ])('%s → 206 with that slice', async (_n, range, start, end) => {
      const res = await download(m.mediaId, { range });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(m.plaintext.subarray(start, end + 1))).toBe(true);
    });

    it('fetches only the needed blocks from the CDN', async () => {
      const before = cdn.requests.length;
      await (await download(m.mediaId, { range: 'bytes=40000-40999' })).arrayBuffer();
      const seen = cdn.requests.slice(before);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.range).toBe('bytes=39984-41007');
    });

    it('416 with the size for a range past the end', async () => {
      const res = await download(m.mediaId, { range: `bytes=${size}-` });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(((await res.json()) as { code: string }).code).toBe('RANGE_NOT_SATISFIABLE');
    });
  });

  describe('integrity', () => {
    it.each([0, 0.5, 1])('a small file with one flipped byte (at %f) → 502 MEDIA_INTEGRITY_FAILED', async (where) => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(5000) });
      cdn.misbehave(m.path, { tamperAt: Math.min(m.encrypted.length - 1, Math.floor(m.encrypted.length * where)) });
      const res = await download(m.mediaId);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { code: string }).code).toBe('MEDIA_INTEGRITY_FAILED');
    });

    it.each([0.1, 0.9999])('a large file with one flipped byte (at %f) never ends as a success', async (where) => {
      const m = await publishAndIngest({ type: 'video', plaintext: plaintextOf(3 * 1024 * 1024) });
      cdn.misbehave(m.path, { tamperAt: Math.floor(m.encrypted.length * where) });
      const res = await download(m.mediaId).catch((e: unknown) => e);
      if (res instanceof Response) {
        // Headers may already be out; then the transfer must fail, not complete.
        await expect(res.arrayBuffer()).rejects.toThrow();
      } else {
        expect(res).toBeInstanceOf(Error);
      }
    });

    it('a truncated file → error', async () => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(5000) });
      cdn.put(m.path, m.encrypted.subarray(0, m.encrypted.length - 7));
      const res = await download(m.mediaId);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { code: string }).code).toBe('MEDIA_INTEGRITY_FAILED');
    });
  });

  describe('CDN behaviour', () => {
    it('503 twice then 200 → success', async () => {
      const m = await publishAndIngest({ type: 'audio', plaintext: plaintextOf(20_000) });
      cdn.misbehave(m.path, { status: 503, times: 2 });
      const res = await download(m.mediaId);
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(m.plaintext));
      expect(cdn.requests.filter((r) => r.path === m.path)).toHaveLength(3);
    });

    it('cut at 50% → resumed with Range, bytes equal', async () => {
      const m = await publishAndIngest({ type: 'video', plaintext: plaintextOf(2 * 1024 * 1024) });
      cdn.misbehave(m.path, { cutAt: 0.5, times: 1 });
      const res = await download(m.mediaId);
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(m.plaintext));
      const ranges = cdn.requests.filter((r) => r.path === m.path).map((r) => r.range);
      expect(ranges).toEqual([undefined, `bytes=${Math.floor(m.encrypted.length / 2)}-${m.encrypted.length - 1}`]);
    });

    it.each([404, 410])('CDN %i → 410 MEDIA_EXPIRED', async (status) => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(100) });
      cdn.misbehave(m.path, { status });
      const res = await download(m.mediaId);
      expect(res.status).toBe(410);
      expect(((await res.json()) as { code: string }).code).toBe('MEDIA_EXPIRED');
    });

    it('503 forever → 502 CDN_UNAVAILABLE', async () => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(100) });
      cdn.misbehave(m.path, { status: 503 });
      const res = await download(m.mediaId);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { code: string }).code).toBe('CDN_UNAVAILABLE');
    });

    it.each([
      ['127.0.0.2 (loopback, not allowlisted)', () => other],
      ['a non-allowlisted host', null],
    ])('refuses a url pointing at %s and never contacts it', async (_name, which) => {
      const target = which ? which() : other;
      const p = await publishMedia(target, { type: 'image', plaintext: plaintextOf(100) });
      if (!which)
        (p.message.message as { imageMessage: { url: string } }).imageMessage.url = 'https://evil.example.com/x.enc';
      const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
      const before = other.requests.length;
      const res = await download(mediaId!);
      expect(res.status).toBe(502);
      expect(((await res.json()) as { code: string }).code).toBe('CDN_HOST_NOT_ALLOWED');
      expect(other.requests.length).toBe(before);
    });
  });

  describe('limits', () => {
    it('413 before fetching when the declared size is over MAX_MEDIA_BYTES', async () => {
      const p = await publishMedia(cdn, {
        type: 'video',
        plaintext: plaintextOf(100),
        fields: { fileLength: 81 * 1024 * 1024 },
      });
      const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
      const before = cdn.requests.length;
      const res = await download(mediaId!);
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe('MEDIA_TOO_LARGE');
      expect(cdn.requests.length).toBe(before);
    });

    it('413 when the CDN file is over the limit though the message claims less', async () => {
      const p = await publishMedia(cdn, {
        type: 'video',
        plaintext: plaintextOf(81 * 1024 * 1024),
        fields: { fileLength: 1000 },
      });
      const { mediaId } = await ingestMessage(t, auth, 'shop', p.message);
      const res = await download(mediaId!);
      expect(res.status).toBe(413);
    }, 60_000);

    it('a client that disconnects stops the CDN fetch at once', async () => {
      const m = await publishAndIngest({ type: 'video', plaintext: plaintextOf(8 * 1024 * 1024) });
      cdn.misbehave(m.path, { slowBytesPerSec: 512 * 1024 });
      const ac = new AbortController();
      const res = await fetch(`${base}/api/sessions/shop/media/${m.mediaId}/download`, {
        method: 'POST',
        headers: auth,
        signal: ac.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await reader.read();
      expect(cdn.openConnections).toBeGreaterThan(0);
      const sentAtAbort = cdn.bytesSent;
      ac.abort();
      const deadline = Date.now() + 2000;
      while (cdn.openConnections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(cdn.openConnections).toBe(0);
      expect(cdn.bytesSent - sentAtAbort).toBeLessThan(2 * 1024 * 1024);
    });
  });

  it('a client that stops reading holds the CDN back; once it reads on, the bytes are whole', async () => {
    const size = 64 * 1024 * 1024;
    const m = await publishAndIngest({ type: 'video', plaintext: plaintextOf(size) });
    const before = cdn.bytesSent;
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      httpRequest(`${base}/api/sessions/shop/media/${m.mediaId}/download`, { method: 'POST', headers: auth }, resolve)
        .on('error', reject)
        .end(),
    );
    res.pause();
    expect(res.statusCode).toBe(200);
    // Stalled: nothing more leaves the CDN for a while, far short of the file. What is in flight
    // is socket buffers on both hops and the server's high-water marks, a few MiB each.
    let last = -1;
    let still = 0;
    await eventually(
      () => {
        const sent = cdn.bytesSent - before;
        still = sent === last ? still + 1 : 0;
        last = sent;
        return still >= 30;
      },
      'the CDN transfer to stall',
      15_000,
    );
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(size / 2);
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    expect(n).toBe(size);
    expect(hash.digest('hex')).toBe(sha256(m.plaintext));
  }, 120_000);

  describe('records', () => {
    it('the same message twice gives one media object', async () => {
      const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(10) });
      const a = await ingestMessage(t, auth, 'shop', p.message);
      const b = await ingestMessage(t, auth, 'shop', p.message);
      expect(b.mediaId).toBe(a.mediaId);
      const rows = await t.db.store.db.selectFrom('media').select('id').where('message_id', '=', a.messageId).execute();
      expect(rows).toHaveLength(1);
    });

    it('a message without media records nothing', async () => {
      const res = await ingestMessage(t, auth, 'shop', {
        key: { remoteJid: '1@s.whatsapp.net', id: 'TEXTONLY1' },
        message: { conversation: 'hello' },
      });
      expect(res).toEqual({ messageId: 'TEXTONLY1', mediaId: null });
    });

    it('never shows the media key: not in responses, rows or logs', async () => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(100) });
      const keyB64 = m.mediaKey.toString('base64');
      const keyHex = m.mediaKey.toString('hex');
      const meta = await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: auth });
      expect(meta.body).not.toContain(keyB64);
      expect(meta.body).not.toMatch(/mediaKey/i);
      const row = await t.db.store.db
        .selectFrom('media')
        .selectAll()
        .where('id', '=', m.mediaId)
        .executeTakeFirstOrThrow();
      expect(row.media_key).not.toContain(keyB64);
      expect(row.media_key).not.toContain(keyHex);
      expect(t.logs.text()).not.toContain(keyB64);
      expect(t.logs.text()).not.toContain(keyHex);
    });

    it('another account, or another session, cannot read or download it (404)', async () => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(100) });
      const b = await t.newAccount();
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: b.auth, payload: { name: 'shop' } });
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'other' } });
      for (const [headers, session] of [
        [b.auth, 'shop'],
        [auth, 'other'],
      ] as const) {
        const meta = await t.app.inject({ url: `/api/sessions/${session}/media/${m.mediaId}`, headers });
        expect(meta.statusCode).toBe(404);
        expect(meta.json().code).toBe('MEDIA_NOT_FOUND');
        const dl = await t.app.inject({
          method: 'POST',
          url: `/api/sessions/${session}/media/${m.mediaId}/download`,
          headers,
        });
        expect(dl.statusCode).toBe(404);
      }
    });

    it('needs the media:read scope', async () => {
      const m = await publishAndIngest({ type: 'image', plaintext: plaintextOf(100) });
      const me = await t.app.inject({ url: '/api/account', headers: auth });
      const k = await t.newKey(me.json().data.id, ['sessions:read']);
      expect((await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: k.auth })).statusCode).toBe(
        403,
      );
    });
  });
});
