import { readFileSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './support/app.js';
import { startFakeCdn, type FakeCdn } from './support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from './support/media.js';
import { promtool } from './support/promtool.js';
import { createBucket, settingsBody, testS3Client } from './support/s3.js';

const ROOT = new URL('../', import.meta.url).pathname;
const RULES = `${ROOT}deploy/prometheus/titan-media.rules.yml`;
const RULES_TEST = `${ROOT}deploy/prometheus/titan-media.rules.test.yml`;
const DASHBOARD = `${ROOT}deploy/grafana/titan-media.json`;

/** Series names an expression reads (recording rules, with a colon, are not scraped). */
const seriesIn = (expr: string) =>
  [...expr.matchAll(/\b((?:titan|http|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

describe('deploy/: the scrape, the alert rules and the dashboard', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let scrape: string;

  // Traffic of every kind first (completed, failed and cut transfers, errors), then one scrape.
  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    const bucket = await createBucket(s3);
    t = await buildTestApp('sqlite', {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '1',
    });
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    await t.app.inject({ method: 'PUT', url: '/api/account/settings', headers: a.auth, payload: settingsBody(bucket) });
    const media = async (size: number) => {
      const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(size) });
      return { ...p, mediaId: (await ingestMessage(t, a.auth, 'shop', p.message)).mediaId! };
    };
    const download = (id: string, headers: Record<string, string> = {}) =>
      fetch(`${base}/api/sessions/shop/media/${id}/download`, { method: 'POST', headers: { ...a.auth, ...headers } });
    const ok = await media(300_000);
    await (await download(ok.mediaId)).arrayBuffer();
    await (await download(ok.mediaId, { range: 'bytes=0-99' })).arrayBuffer();
    const bad = await media(2000);
    cdn.misbehave(bad.path, { status: 503 });
    expect((await download(bad.mediaId)).status).toBe(502);
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${ok.mediaId}/persist`, headers: a.auth }))
        .statusCode,
    ).toBe(200);
    await (await download(ok.mediaId)).arrayBuffer();
    expect(
      (await t.app.inject({ url: '/api/sessions/nope/media/AAAAAAAAAAAAAAAAAAAAAAAA', headers: a.auth })).statusCode,
    ).toBe(404);
    const res = await t.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    scrape = res.body;
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });

  it('the scrape passes `promtool check metrics`', async () => {
    const r = await promtool(['check', 'metrics'], scrape);
    expect(r).toEqual({ code: 0, out: '' });
    expect(scrape).toMatch(/^titan_build_info\{version="\d+\.\d+\.\d+[^"]*",node="\d+\.\d+\.\d+"\} 1$/m);
  });

  it('the rules pass `promtool check rules` and their unit tests', async () => {
    const check = await promtool(['check', 'rules', RULES]);
    expect(check.code, check.out).toBe(0);
    const tested = await promtool(['test', 'rules', RULES_TEST]);
    expect(tested.code, tested.out).toBe(0);
    expect(tested.out).toContain('SUCCESS');
  });

  it('every series the rules and the dashboard read is one this server exports', () => {
    const exported = new Set(
      [...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) =>
        m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_count`, `${m[1]}_sum`] : [m[1]!],
      ),
    );
    const rules = readFileSync(RULES, 'utf8');
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((x) => x.expr)), rules];
    const read = new Set(exprs.flatMap(seriesIn));
    expect(read.size).toBeGreaterThan(15);
    expect([...read].filter((s) => !exported.has(s))).toEqual([]);
  });
});
