import { createHash } from 'node:crypto';
import { buffer as readAll } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../../src/media/cdn-allowlist.js';
import { type CdnClient, type CdnClientOptions, createCdnClient } from '../../src/media/cdn-client.js';
import { READ_SIZE } from '../../src/media/cdn-http.js';
import { type FakeCdn, type FakeFile, fileBytes, startFakeCdn, syntheticFile } from '../support/fake-cdn.js';

const MiB = 1024 * 1024;
let cdn: FakeCdn;
let client: CdnClient;
const extra: FakeCdn[] = [];

function makeClient(opts: Partial<CdnClientOptions> = {}): CdnClient {
  return createCdnClient({
    baseUrl: cdn.origin,
    allowlist: parseAllowlist('http://127.0.0.1:*'),
    connectTimeoutMs: 1_000,
    headersTimeoutMs: 2_000,
    bodyTimeoutMs: 2_000,
    maxRetries: 3,
    retryBaseDelayMs: 5,
    ...opts,
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function until(cond: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !cond(); await sleep(10)) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
  }
}

function put(path: string, file: FakeFile): Buffer {
  cdn.put(path, file);
  return fileBytes(file);
}

beforeEach(async () => {
  cdn = await startFakeCdn();
  client = makeClient();
});

afterEach(async () => {
  await client.close();
  await Promise.all([cdn, ...extra.splice(0)].map((c) => c.close()));
});

describe('createCdnClient: happy paths', () => {
  it('streams the whole file, bytes equal, with size and totalSize', async () => {
    const want = put('/v/a.enc', syntheticFile(3 * MiB + 17));
    const body = await client.open({ directPath: '/v/a.enc' });
    expect(body.size).toBe(want.length);
    expect(body.totalSize).toBe(want.length);
    expect(sha(await readAll(body.stream))).toBe(sha(want));
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]!.range).toBeUndefined();
    expect(cdn.requests[0]!.headers['accept-encoding']).toBe('identity');
  });

  it('resolves directPath against baseUrl and accepts an allowlisted url', async () => {
    const c = makeClient({ baseUrl: `${cdn.origin}/base/` });
    expect(c.resolveUrl({ directPath: '/v/x.enc?ccb=1', url: 'https://ignored.example/x' }).href).toBe(
      `${cdn.origin}/base/v/x.enc?ccb=1`,
    );
    const port = new URL(cdn.origin).port;
    expect(c.resolveUrl({ url: `http://127.1:${port}/y` }).href).toBe(`${cdn.origin}/y`);
    await c.close();
  });

  it('an open with start/end yields exactly that slice', async () => {
    const want = put('/v/r.enc', syntheticFile(2 * MiB));
    const body = await client.open({ directPath: '/v/r.enc' }, { start: 1000, end: 1_500_000 });
    expect(body.size).toBe(1_499_001);
    expect(body.totalSize).toBe(2 * MiB);
    expect((await readAll(body.stream)).equals(want.subarray(1000, 1_500_001))).toBe(true);
    expect(cdn.requests[0]!.range).toBe('bytes=1000-1500000');

    const tail = await client.open({ directPath: '/v/r.enc' }, { start: 2 * MiB - 10 });
    expect(tail.size).toBe(10);
    expect((await readAll(tail.stream)).equals(want.subarray(2 * MiB - 10))).toBe(true);
    const clipped = await client.open({ directPath: '/v/r.enc' }, { start: 5, end: 10 * MiB });
    expect(clipped.size).toBe(2 * MiB - 5);
    expect((await readAll(clipped.stream)).equals(want.subarray(5))).toBe(true);
  });

  it('a server ignoring Range: the prefix is skipped and the tail cut, so the slice is still exact', async () => {
    const want = put('/v/i.enc', syntheticFile(MiB));
    cdn.misbehave('/v/i.enc', { ignoreRange: true });
    const body = await client.open({ directPath: '/v/i.enc' }, { start: 300_001, end: 700_000 });
    expect(body.size).toBe(400_000);
    expect((await readAll(body.stream)).equals(want.subarray(300_001, 700_001))).toBe(true);
    await until(() => cdn.openConnections === 0, 1_000); // the unwanted tail was not downloaded
  });
});

describe('createCdnClient: retries and resume', () => {
  it('503 twice then 200: succeeds after 3 requests', async () => {
    const want = put('/v/b.enc', syntheticFile(100_000));
    cdn.misbehave('/v/b.enc', { status: 503, failTimes: 2 });
    const body = await client.open({ directPath: '/v/b.enc' });
    expect((await readAll(body.stream)).equals(want)).toBe(true);
    expect(cdn.requests).toHaveLength(3);
  });

  it('503 forever: CDN_UNAVAILABLE after maxRetries + 1 requests, with the last status as cause', async () => {
    put('/v/c.enc', syntheticFile(10));
    cdn.misbehave('/v/c.enc', { status: 503 });
    const err = await client.open({ directPath: '/v/c.enc' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CDN_UNAVAILABLE', statusCode: 502, cause: { statusCode: 503 } });
    expect(cdn.requests).toHaveLength(4);
  });

  it('honours Retry-After on 429, capped by maxRetryAfterMs', async () => {
    const want = put('/v/ra.enc', syntheticFile(1000));
    cdn.misbehave('/v/ra.enc', { status: 429, retryAfter: 1, failTimes: 1 });
    let t0 = Date.now();
    expect((await readAll((await client.open({ directPath: '/v/ra.enc' })).stream)).equals(want)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);

    const capped = makeClient({ maxRetryAfterMs: 50 });
    cdn.misbehave('/v/ra.enc', { status: 503, retryAfter: 3600, failTimes: 1 });
    t0 = Date.now();
    expect((await readAll((await capped.open({ directPath: '/v/ra.enc' })).stream)).equals(want)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(900);
    await capped.close();
  });

  it('a cut at 50% is resumed with a Range request from exactly the cut offset', async () => {
    const want = put('/v/d.enc', syntheticFile(MiB));
    cdn.misbehave('/v/d.enc', { cutAt: 0.5, times: 1 });
    const body = await client.open({ directPath: '/v/d.enc' });
    expect((await readAll(body.stream)).equals(want)).toBe(true);
    expect(cdn.requests.map((r) => r.range)).toEqual([undefined, `bytes=${MiB / 2}-${MiB - 1}`]);
  });

  it('two cuts are resumed twice, each from its cut offset', async () => {
    const want = put('/v/e.enc', syntheticFile(MiB));
    cdn.misbehave('/v/e.enc', { cutAt: 0.5, times: 2 });
    const body = await client.open({ directPath: '/v/e.enc' });
    expect((await readAll(body.stream)).equals(want)).toBe(true);
    expect(cdn.requests.map((r) => r.range)).toEqual([
      undefined,
      `bytes=${MiB / 2}-${MiB - 1}`,
      `bytes=${(3 * MiB) / 4}-${MiB - 1}`,
    ]);
  });

  it('a cut inside a ranged open resumes within the same range', async () => {
    const want = put('/v/rr.enc', syntheticFile(MiB));
    cdn.misbehave('/v/rr.enc', { cutAt: 1000, times: 1 });
    const body = await client.open({ directPath: '/v/rr.enc' }, { start: 10, end: 5009 });
    expect((await readAll(body.stream)).equals(want.subarray(10, 5010))).toBe(true);
    expect(cdn.requests.map((r) => r.range)).toEqual(['bytes=10-5009', 'bytes=1010-5009']);
  });

  it('resumes against a server that ignores Range by skipping what was already delivered', async () => {
    const want = put('/v/f.enc', syntheticFile(MiB));
    cdn.misbehave('/v/f.enc', { cutAt: 0.25, times: 1 });
    const body = await client.open({ directPath: '/v/f.enc' });
    cdn.misbehave('/v/f.enc', { ignoreRange: true });
    expect((await readAll(body.stream)).equals(want)).toBe(true);
    expect(cdn.requests).toHaveLength(2);
  });

  it('resumes after the body goes idle past bodyTimeoutMs', async () => {
    const c = makeClient({ bodyTimeoutMs: 200 });
    const want = put('/v/s.enc', syntheticFile(50_000));
    // One byte every ~3 s; undici's body timer has ~1 s resolution, so it fires within ~1.5 s.
    cdn.misbehave('/v/s.enc', { slowBytesPerSec: 0.3, times: 1 });
    expect((await readAll((await c.open({ directPath: '/v/s.enc' })).stream)).equals(want)).toBe(true);
    expect(cdn.requests).toHaveLength(2);
    expect(cdn.requests[1]!.range).toMatch(/^bytes=[1-9]\d*-49999$/);
    await c.close();
  });

  it('retries a headers timeout', async () => {
    const c = makeClient({ headersTimeoutMs: 200 });
    const want = put('/v/h.enc', syntheticFile(1000));
    cdn.misbehave('/v/h.enc', { delayMs: 3_000, times: 1 });
    expect((await readAll((await c.open({ directPath: '/v/h.enc' })).stream)).equals(want)).toBe(true);
    expect(cdn.requests).toHaveLength(2);
    await c.close();
  });

  it('cut on every response: the stream fails with CDN_UNAVAILABLE once retries are spent', async () => {
    put('/v/g.enc', syntheticFile(MiB));
    cdn.misbehave('/v/g.enc', { cutAt: 1000 });
    const body = await client.open({ directPath: '/v/g.enc' });
    const err = await readAll(body.stream).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CDN_UNAVAILABLE', cause: { code: 'CDN_SOCKET_CLOSED' } });
    expect(cdn.requests).toHaveLength(4);
  });

  it('a file that changed between two responses (ETag) fails instead of splicing', async () => {
    put('/v/t.enc', syntheticFile(MiB));
    cdn.misbehave('/v/t.enc', { cutAt: 0.5, times: 1 });
    const body = await client.open({ directPath: '/v/t.enc' });
    cdn.put('/v/t.enc', syntheticFile(MiB, 2));
    const err = await readAll(body.stream).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CDN_UNAVAILABLE', message: expect.stringMatching(/changed/) });
  });
});

describe('createCdnClient: status mapping and limits', () => {
  it.each([404, 410, 403])('%i → MEDIA_EXPIRED without retry', async (status) => {
    put('/v/x.enc', syntheticFile(10));
    cdn.misbehave('/v/x.enc', { status });
    await expect(client.open({ directPath: '/v/x.enc' })).rejects.toMatchObject({ code: 'MEDIA_EXPIRED' });
    expect(cdn.requests).toHaveLength(1);
  });

  it.each([400, 416, 301])('%i → CDN_UNAVAILABLE without retry', async (status) => {
    cdn.misbehave('/v/y.enc', { status, headers: { location: 'http://127.0.0.1:1/z' } });
    await expect(client.open({ directPath: '/v/y.enc' })).rejects.toMatchObject({ code: 'CDN_UNAVAILABLE' });
    expect(cdn.requests).toHaveLength(1);
  });

  it('a redirect to a non-allowlisted host is not followed', async () => {
    const other = await startFakeCdn({ host: '127.0.0.2' });
    extra.push(other);
    other.put('/x', syntheticFile(10));
    cdn.misbehave('/v/z.enc', { status: 302, headers: { location: `${other.origin}/x` } });
    await expect(client.open({ directPath: '/v/z.enc' })).rejects.toMatchObject({ code: 'CDN_UNAVAILABLE' });
    expect(other.requests).toHaveLength(0);
  });

  it('a non-allowlisted url → CDN_HOST_NOT_ALLOWED, and that host is never contacted', async () => {
    const other = await startFakeCdn({ host: '127.0.0.2' });
    extra.push(other);
    other.put('/x', syntheticFile(10));
    let connections = 0;
    const probe = setInterval(() => (connections = Math.max(connections, other.openConnections)), 1);
    for (const url of [
      `${other.origin}/x`,
      `http://127.0.0.1:${new URL(other.origin).port}@127.0.0.2:${new URL(other.origin).port}/x`,
      'https://mmg.whatsapp.net/x',
      'file:///etc/passwd',
      'not a url',
    ]) {
      await expect(client.open({ url })).rejects.toMatchObject({ code: 'CDN_HOST_NOT_ALLOWED' });
    }
    expect(() => client.resolveUrl({ directPath: `@127.0.0.2:${new URL(other.origin).port}/x` })).toThrow(
      expect.objectContaining({ code: 'CDN_HOST_NOT_ALLOWED' }),
    );
    // A request of the test's own as the marker: once it has arrived, anything the client had
    // sent that host would have arrived too.
    expect((await fetch(`${other.origin}/x`)).status).toBe(200);
    clearInterval(probe);
    expect(other.requests).toHaveLength(1);
    expect(connections).toBeLessThanOrEqual(1);
  });

  it('maxBytes exceeded by the announced size → MEDIA_TOO_LARGE from open(), before any body read', async () => {
    const c = makeClient({ maxBytes: MiB });
    put('/v/big.enc', syntheticFile(8 * MiB));
    await expect(c.open({ directPath: '/v/big.enc' })).rejects.toMatchObject({ code: 'MEDIA_TOO_LARGE' });
    expect(cdn.requests).toHaveLength(1);
    await until(() => cdn.openConnections === 0, 1_000);
    expect(cdn.bytesSent).toBeLessThan(8 * MiB);
    await c.close();
  });

  it('maxBytes is enforced while streaming a body of unknown length', async () => {
    const c = makeClient({ maxBytes: MiB });
    put('/v/chunked.enc', syntheticFile(4 * MiB));
    cdn.misbehave('/v/chunked.enc', { noLength: true });
    const body = await c.open({ directPath: '/v/chunked.enc' });
    expect(body.size).toBeNull();
    await expect(readAll(body.stream)).rejects.toMatchObject({ code: 'MEDIA_TOO_LARGE' });
    await c.close();
  });
});

describe('createCdnClient: abort and backpressure', () => {
  it('aborting mid-body destroys the stream with the reason unchanged and closes the socket', async () => {
    put('/v/ab.enc', syntheticFile(64 * MiB));
    const ac = new AbortController();
    const body = await client.open({ directPath: '/v/ab.enc' }, { signal: ac.signal });
    const reason = new Error('client went away');
    const got = (async () => {
      for await (const _ of body.stream) ac.abort(reason);
    })().catch((e: unknown) => e);
    expect(await got).toBe(reason);
    await until(() => cdn.openConnections === 0, 1_000);
  });

  it('aborting during a retry backoff rejects open() with the reason at once', async () => {
    const c = makeClient({ retryBaseDelayMs: 60_000, retryMaxDelayMs: 60_000 });
    cdn.misbehave('/v/bo.enc', { status: 503 });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort('stop'), 100);
    await expect(c.open({ directPath: '/v/bo.enc' }, { signal: ac.signal })).rejects.toBe('stop');
    expect(Date.now() - t0).toBeLessThan(1_000);
    await c.close();
  });

  it('destroying the stream without a signal also closes the connection', async () => {
    put('/v/ds.enc', syntheticFile(64 * MiB));
    const body = await client.open({ directPath: '/v/ds.enc' });
    body.stream.destroy();
    await until(() => cdn.openConnections === 0, 1_000);
  });

  it('a slow reader keeps buffering bounded (backpressure reaches the socket)', async () => {
    put('/v/slow.enc', syntheticFile(64 * MiB));
    const body = await client.open({ directPath: '/v/slow.enc' });
    try {
      const it = body.stream[Symbol.asyncIterator]();
      let consumed = 0;
      const take = async (): Promise<void> => {
        consumed += ((await it.next()).value as Buffer).length;
      };
      await take();
      // A paused reader: what the server managed to send is bounded by socket buffers plus the
      // stream's buffer (one read beyond its mark), and the process holds no more than that.
      const baseline = process.memoryUsage().arrayBuffers;
      // Until the server can send no more: its writes stop once the buffers on the way are full.
      for (let last = -1; cdn.bytesSent !== last; await sleep(200)) last = cdn.bytesSent;
      const grown = process.memoryUsage().arrayBuffers - baseline;
      expect(cdn.bytesSent - consumed).toBeLessThan(12 * MiB);
      expect(grown).toBeLessThan(8 * MiB);
      // A socket read is delivered whole (its buffer is reused), so at most one read lies beyond the mark.
      expect(body.stream.readableLength).toBeLessThanOrEqual(body.stream.readableHighWaterMark + READ_SIZE);
      // A slow but steady reader: the lead of the server stays bounded as well.
      for (const deadline = Date.now() + 1_000; Date.now() < deadline; await sleep(20)) {
        await take();
        expect(cdn.bytesSent - consumed).toBeLessThan(12 * MiB);
      }
    } finally {
      body.stream.destroy();
    }
  });
});
