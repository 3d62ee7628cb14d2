import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { createBucket, listKeys, settingsBody, testS3Client } from '../support/s3.js';
import { eventually, FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(DIALECTS)('lifecycle sweeps (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let r: Receiver;
  // The server's clock, moved forward by the retention test (S3 signing keeps real time).
  let offset = 0;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-sweep');
    r = await startReceiver();
    t = await buildTestApp(
      dialect,
      {
        SIMULATOR_ENABLED: 'true',
        MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
        CDN_MAX_RETRIES: '0',
        AUTO_PERSIST_ATTEMPTS: '2',
        AUTO_PERSIST_RETRY_DELAY_MS: '50',
        LIFECYCLE_SWEEP_INTERVAL_MS: '100',
        MEDIA_KEY_WIPE_GRACE_HOURS: '24',
        ...FAST_WEBHOOKS,
      },
      undefined,
      { deps: { clock: { now: () => new Date(Date.now() + offset) } } },
    );
  });
  afterAll(async () => {
    // No sweep may have failed along the way.
    expect(t.logs.lines.filter((l) => l.component === 'media-lifecycle' && (l.level as number) >= 50)).toEqual([]);
    await t.close();
    await cdn.close();
    await r.close();
    s3.destroy();
  });

  async function account(settings: Record<string, unknown>) {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: { ...settingsBody(bucket), ...settings },
    });
    expect(put.statusCode, put.body).toBe(200);
    await t.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: a.auth,
      payload: { url: `${r.url}?account=${a.accountId}` },
    });
    const mine = (event: string) =>
      r.received.filter((x) => x.path.endsWith(a.accountId) && x.body.event === event).map((x) => x.body.payload);
    return { ...a, mine };
  }
  /** A media whose WhatsApp upload was `ageMs` ago (so its CDN copy ends 14 days after that). */
  async function media(a: { auth: { authorization: string } }, ageMs: number, opts: { onCdn?: boolean } = {}) {
    const p = await publishMedia(cdn, {
      type: 'document',
      plaintext: plaintextOf(3000),
      fields: { mediaKeyTimestamp: Math.floor((Date.now() - ageMs) / 1000) },
    });
    if (opts.onCdn === false) cdn.misbehave(p.path, { status: 404 });
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    return mediaId!;
  }
  const get = async (a: { auth: { authorization: string } }, id: string) =>
    (await t.app.inject({ url: `/api/sessions/shop/media/${id}`, headers: a.auth })).json<{
      data: Record<string, unknown>;
    }>().data;
  /** Resolves after `n` more complete sweeps (their end is recorded in the database). */
  async function sweeps(n: number) {
    const lastRun = async () =>
      (
        await t.db.store.db
          .selectFrom('sweep_claims')
          .select('last_run_at')
          .where('name', '=', 'media-lifecycle')
          .executeTakeFirst()
      )?.last_run_at ?? '';
    for (let i = 0; i < n; i++) {
      const seen = await lastRun();
      await eventually(async () => ((await lastRun()) !== seen ? true : undefined), 10_000, 'a sweep');
    }
  }

  it('persists exactly the media whose CDN copy ends inside the window, once each, and gives up on one that fails', async () => {
    const a = await account({ persistBeforeExpiry: { enabled: true, hoursBefore: 48 } });
    const off = await account({});
    const inside = [await media(a, 13 * DAY), await media(a, 12.5 * DAY)];
    const later = await media(a, 11 * DAY); // ends in 72 h: outside the 48 h window
    const gone = await media(a, 14 * DAY + HOUR); // ended an hour ago: outside too
    const failing = await media(a, 13 * DAY, { onCdn: false });
    const notAsked = await media(off, 13 * DAY);

    await r.waitFor(() => a.mine('media.persisted').length === 2 && a.mine('media.persist_failed').length === 1);
    expect(
      a
        .mine('media.persisted')
        .map((p) => p.mediaId)
        .sort(),
    ).toEqual([...inside].sort());
    expect(a.mine('media.persisted').every((p) => p.trigger === 'expiry')).toBe(true);
    expect(a.mine('media.persist_failed')).toEqual([
      expect.objectContaining({
        mediaId: failing,
        trigger: 'expiry',
        error: expect.objectContaining({ code: 'MEDIA_EXPIRED' }),
      }),
    ]);
    for (const id of inside) expect(await get(a, id)).toMatchObject({ persisted: true });
    // More sweeps change nothing: nothing outside the window, no second try of the failure.
    await sweeps(3);
    for (const id of [later, gone, failing]) expect(await get(a, id)).toMatchObject({ persisted: false });
    expect(await get(off, notAsked)).toMatchObject({ persisted: false });
    expect(a.mine('media.persisted')).toHaveLength(2);
    expect(a.mine('media.persist_failed')).toHaveLength(1);
    expect(off.mine('media.persisted')).toEqual([]);
    const keys = await listKeys(s3, bucket);
    for (const id of inside) expect(keys.some((k) => k.includes(id))).toBe(true);
    for (const id of [later, gone, failing, notAsked]) expect(keys.some((k) => k.includes(id))).toBe(false);
  });

  it('wipes the keys of media that expired unpersisted past the grace, and nothing else', async () => {
    const a = await account({});
    // Media that arrive already expired get the grace from their arrival: two days pass below.
    const wiped = await media(a, 16 * DAY);
    const inGrace = await media(a, 12.5 * DAY); // ends 12 h before the moved clock: in the grace
    const stored = await media(a, 16 * DAY);
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${stored}/persist`, headers: a.auth }))
        .statusCode,
    ).toBe(200);
    await sweeps(1);
    expect(await get(a, wiped)).toMatchObject({ expired: false });
    const before = (await scrapeMetrics(t.app)).get('titan_media_lifecycle_total{step="key_wiped"}') ?? 0;
    offset = 2 * DAY;

    await eventually(
      async () => ((await get(a, wiped)).expired === true ? true : undefined),
      10_000,
      'the key to be wiped',
    );
    await sweeps(2);
    const row = await t.db.store.db
      .selectFrom('media')
      .select(['media_key', 'wa_message', 'key_wiped_at'])
      .where('id', '=', wiped)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ media_key: '', wa_message: null });
    expect(await get(a, inGrace)).toMatchObject({ expired: false });
    expect(await get(a, stored)).toMatchObject({ expired: false, persisted: true });
    for (const action of ['download', 'persist']) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/sessions/shop/media/${wiped}/${action}`,
        headers: a.auth,
      });
      expect(res.statusCode, action).toBe(410);
      expect(res.json(), action).toMatchObject({ code: 'MEDIA_EXPIRED' });
    }
    // The stored copy is still served after the CDN copy's end.
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${stored}/download`, headers: a.auth }))
        .statusCode,
    ).toBe(200);
    expect((await scrapeMetrics(t.app)).get('titan_media_lifecycle_total{step="key_wiped"}')).toBeGreaterThanOrEqual(
      before + 1,
    );
  });

  it('retention removes old objects and old records, and nothing newer', async () => {
    const a = await account({ retention: { persistedDays: 30, recordsDays: 45 } });
    const keep = await account({});
    const persist = async (acc: { auth: { authorization: string } }, id: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/sessions/shop/media/${id}/persist`,
        headers: acc.auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ data: { key: string } }>().data.key;
    };
    const old = await media(a, HOUR);
    const oldKey = await persist(a, old);
    const otherOld = await media(keep, HOUR);
    const otherKey = await persist(keep, otherOld);

    offset += 31 * DAY;
    const fresh = await media(a, HOUR);
    const freshKey = await persist(a, fresh);
    await eventually(
      async () => ((await listKeys(s3, bucket)).includes(oldKey) ? undefined : true),
      10_000,
      'the old object to go',
    );
    await sweeps(2);
    let keys = await listKeys(s3, bucket);
    expect(keys).toContain(freshKey);
    expect(keys).toContain(otherKey);
    // The record stays (31 days < 45): it says the object is no longer stored.
    expect(await get(a, old)).toMatchObject({ persisted: false, s3Url: null });

    offset += 19 * DAY; // 50 days after the first persist, 19 after the fresh one
    await eventually(
      async () =>
        (await t.app.inject({ url: `/api/sessions/shop/media/${old}`, headers: a.auth })).statusCode === 404
          ? true
          : undefined,
      10_000,
      'the old record to go',
    );
    await sweeps(2);
    expect(await get(a, fresh)).toMatchObject({ persisted: true });
    expect(await get(keep, otherOld)).toMatchObject({ persisted: true });
    keys = await listKeys(s3, bucket);
    expect(keys).toContain(freshKey);
    expect(keys).toContain(otherKey);
    const m = await scrapeMetrics(t.app);
    expect(m.get('titan_media_lifecycle_total{step="object_expired"}')).toBeGreaterThanOrEqual(1);
    expect(m.get('titan_media_lifecycle_total{step="record_removed"}')).toBeGreaterThanOrEqual(1);
  });
});
