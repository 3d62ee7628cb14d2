import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, settingsBody, testS3Client } from '../support/s3.js';
import { until } from '../support/titan-process.js';

const TUNNEL_MS = 3000;
const HUNG = 50;

/** A proxy that accepts connections and never says a word. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(DIALECTS)('fair shares (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let hole: Awaited<ReturnType<typeof blackHole>>;
  let base: string;
  let stuck: Awaited<ReturnType<TestApp['newAccount']>>;
  let other: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    hole = await blackHole();
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '0',
      PROXY_CONNECT_TIMEOUT_MS: String(TUNNEL_MS),
      MAX_CONCURRENT_TRANSFERS: '16',
      MAX_CONCURRENT_TRANSFERS_PER_ACCOUNT: '4',
      RATE_LIMIT_MAX: '100000',
      AUTO_PERSIST_CONCURRENCY: '2',
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    stuck = await t.newAccount();
    other = await t.newAccount();
    const s1 = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: stuck.auth,
      payload: { name: 'stuck', proxy: hole.url },
    });
    expect(s1.statusCode, s1.body).toBe(201);
    const s2 = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: other.auth,
      payload: { name: 'fine' },
    });
    expect(s2.statusCode, s2.body).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await hole.close();
    await cdn.close();
  });

  it(`a proxy that accepts and never answers: ${HUNG} requests get a 5xx within the deadline, and another account's download succeeds meanwhile`, async () => {
    const bad = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(10_000) });
    const badId = (await ingestMessage(t, stuck.auth, 'stuck', bad.message)).mediaId!;
    const good = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(300_000) });
    const goodId = (await ingestMessage(t, other.auth, 'fine', good.message)).mediaId!;

    const started = Date.now();
    const hung = Array.from({ length: HUNG }, () =>
      fetch(`${base}/api/sessions/stuck/media/${badId}/download`, { method: 'POST', headers: stuck.auth }).then(
        async (r) => ({
          status: r.status,
          code: ((await r.json()) as { code: string }).code,
          at: Date.now() - started,
        }),
      ),
    );
    // The other account is served while the stuck ones are still open.
    const res = await fetch(`${base}/api/sessions/fine/media/${goodId}/download`, {
      method: 'POST',
      headers: other.auth,
    });
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(good.plaintext));
    const servedAt = Date.now() - started;

    const answers = await Promise.all(hung);
    const timedOut = answers.filter((a) => a.status === 502);
    const shed = answers.filter((a) => a.status === 503);
    expect(timedOut.length + shed.length).toBe(HUNG);
    // The account's own share of slots tried the proxy; the rest were refused at once.
    expect(timedOut.length).toBeGreaterThan(0);
    expect(timedOut.length).toBeLessThanOrEqual(4);
    for (const a of timedOut) expect(a.code).toBe('CDN_UNAVAILABLE');
    for (const a of shed) expect(a.code).toBe('BUSY');
    const slowest = Math.max(...timedOut.map((a) => a.at));
    expect(slowest).toBeGreaterThanOrEqual(TUNNEL_MS - 100);
    expect(slowest).toBeLessThan(TUNNEL_MS + 3_000);
    expect(servedAt).toBeLessThan(Math.min(...timedOut.map((a) => a.at)));
    // Every slot is free again.
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/^titan_media_transfers_active 0$/m);
    process.stdout.write(
      `[fair-shares ${dialect}] black-hole proxy: ${timedOut.length} × 502 after ≤ ${slowest} ms, ${shed.length} × 503 BUSY; other account served after ${servedAt} ms\n`,
    );
  });

  it("auto-persist shares its workers: one account's stuck backlog does not hold back another's job", async () => {
    const s3 = testS3Client();
    const bucket = await createBucket(s3, 'titan-fair');
    for (const a of [stuck, other]) {
      const put = await t.app.inject({
        method: 'PUT',
        url: '/api/account/settings',
        headers: a.auth,
        payload: { ...settingsBody(bucket), autoPersist: true },
      });
      expect(put.statusCode, put.body).toBe(200);
    }
    // A backlog that can only hang (through the black-hole proxy), queued first…
    for (let i = 0; i < 4; i++)
      await ingestMessage(
        t,
        stuck.auth,
        'stuck',
        (await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(5_000) })).message,
      );
    // …then one job of another account.
    const good = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(5_000) });
    const goodId = (await ingestMessage(t, other.auth, 'fine', good.message)).mediaId!;
    const queuedAt = Date.now();
    await until(
      async () =>
        (await t.app.inject({ url: `/api/sessions/fine/media/${goodId}`, headers: other.auth })).json().data
          .persisted === true
          ? true
          : undefined,
      TUNNEL_MS * 3,
      "the other account's auto-persist",
    );
    const storedMs = Date.now() - queuedAt;
    // Stored while the stuck backlog still holds its share: before any of its tunnels timed out.
    expect(storedMs).toBeLessThan(TUNNEL_MS);
    s3.destroy();
    process.stdout.write(
      `[fair-shares ${dialect}] auto-persist: the other account's job stored ${storedMs} ms after it was queued behind a stuck backlog\n`,
    );
  });
});
