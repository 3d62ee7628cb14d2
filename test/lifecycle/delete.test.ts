import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { createBucket, listKeys, settingsBody, testS3Client } from '../support/s3.js';
import { eventually, FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';
import { jpegThumbnail } from './wa-messages.js';

describe.each(DIALECTS)('deleting media (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let r: Receiver;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-del');
    r = await startReceiver();
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '0',
      ...FAST_WEBHOOKS,
    });
    a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
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
    const hook = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: a.auth,
      payload: { url: r.url, events: ['media.deleted'] },
    });
    expect(hook.statusCode, hook.body).toBe(201);
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    await r.close();
    s3.destroy();
  });

  const url = (id: string, rest = '') => `/api/sessions/shop/media/${id}${rest}`;
  async function persisted(session = 'shop') {
    const thumb = jpegThumbnail();
    const p = await publishMedia(cdn, {
      type: 'image',
      plaintext: plaintextOf(20_000),
      fields: { jpegThumbnail: thumb.toString('base64'), caption: 'private' },
    });
    const { mediaId } = await ingestMessage(t, a.auth, session, p.message);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/${session}/media/${mediaId}/persist`,
      headers: a.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return { id: mediaId!, key: res.json<{ data: { key: string } }>().data.key };
  }
  const row = (id: string) => t.db.store.db.selectFrom('media').selectAll().where('id', '=', id).executeTakeFirst();

  it('removes the object, thumbnail and key; the id answers 410 MEDIA_DELETED; media.deleted arrives', async () => {
    const m = await persisted();
    expect(await listKeys(s3, bucket)).toContain(m.key);
    expect((await t.app.inject({ url: url(m.id, '/thumbnail'), headers: a.auth })).statusCode).toBe(200);
    const deletedBefore =
      (await scrapeMetrics(t.app)).get('titan_media_object_deletions_total{reason="delete",outcome="deleted"}') ?? 0;

    const del = await t.app.inject({ method: 'DELETE', url: url(m.id), headers: a.auth });
    expect(del.statusCode, del.body).toBe(200);
    expect(del.json()).toMatchObject({ data: { id: m.id, object: 'deleting' } });

    await eventually(
      async () => ((await listKeys(s3, bucket)).includes(m.key) ? undefined : true),
      10_000,
      'the object to be deleted',
    );
    const after = await row(m.id);
    expect(after).toMatchObject({ media_key: '', wa_message: null, caption: null, s3_key: null, persisted_at: null });
    expect(after!.deleted_at).not.toBeNull();
    expect(
      await t.db.store.db.selectFrom('media_thumbnails').select('media_id').where('media_id', '=', m.id).execute(),
    ).toEqual([]);
    await eventually(async () => ((await row(m.id))?.object_deleted_at ? true : undefined));
    const deleted = async () =>
      (await scrapeMetrics(t.app)).get('titan_media_object_deletions_total{reason="delete",outcome="deleted"}');
    await expect.poll(deleted).toBe(deletedBefore + 1);

    for (const [method, rest] of [
      ['GET', ''],
      ['GET', '/thumbnail'],
      ['POST', '/download'],
      ['POST', '/persist'],
      ['DELETE', ''],
    ] as const) {
      const res = await t.app.inject({ method, url: url(m.id, rest), headers: a.auth });
      expect(res.statusCode, `${method} ${rest}`).toBe(410);
      expect(res.json(), `${method} ${rest}`).toMatchObject({ code: 'MEDIA_DELETED' });
    }
    const msgId = after!.message_id;
    expect(
      (await t.app.inject({ url: `/api/sessions/shop/media/by-message/${msgId}`, headers: a.auth })).json(),
    ).toMatchObject({ code: 'MEDIA_DELETED' });
    expect(
      (await t.app.inject({ url: `/api/sessions/shop/media?messageId=${msgId}`, headers: a.auth })).json(),
    ).toEqual({ data: [], next: null });

    await r.waitFor(() => r.events('media.deleted').some((e) => e.payload.mediaId === m.id));
    const ev = r.events('media.deleted').find((e) => e.payload.mediaId === m.id)!;
    expect(ev).toMatchObject({
      session: 'shop',
      payload: { mediaId: m.id, messageId: msgId, type: 'image', object: 'deleting' },
    });
  });

  it('?keepObject=true forgets the media and leaves its object', async () => {
    const m = await persisted();
    const del = await t.app.inject({ method: 'DELETE', url: url(m.id, '?keepObject=true'), headers: a.auth });
    expect(del.json()).toMatchObject({ data: { object: 'kept' } });
    expect((await t.app.inject({ url: url(m.id), headers: a.auth })).statusCode).toBe(410);
    // The deletion worker had its chance (the next delete is done), the kept object is still there.
    const n = await persisted();
    await t.app.inject({ method: 'DELETE', url: url(n.id), headers: a.auth });
    await eventually(async () => ((await listKeys(s3, bucket)).includes(n.key) ? undefined : true));
    expect(await listKeys(s3, bucket)).toContain(m.key);
    expect((await row(m.id))!.media_key).toBe('');
  });

  it('a persist still streaming when the media is deleted leaves no object behind', async () => {
    const p = await publishMedia(cdn, { type: 'document', plaintext: plaintextOf(600_000) });
    cdn.misbehave(p.path, { slowBytesPerSec: 600_000, times: 1 });
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    const persisting = t.app.inject({ method: 'POST', url: url(mediaId!, '/persist'), headers: a.auth });
    await eventually(
      async () => (cdn.requests.some((x) => x.path === p.path) ? true : undefined),
      10_000,
      'the CDN transfer to start',
    );
    const del = await t.app.inject({ method: 'DELETE', url: url(mediaId!), headers: a.auth });
    expect(del.json()).toMatchObject({ data: { object: 'none' } });
    const res = await persisting;
    expect(res.statusCode, res.body).toBe(410);
    expect(res.json()).toMatchObject({ code: 'MEDIA_DELETED' });
    await eventually(
      async () => ((await listKeys(s3, bucket)).some((k) => k.includes(mediaId!)) ? undefined : true),
      10_000,
      'the late object to go',
    );
    expect(await row(mediaId!)).toMatchObject({ persisted_at: null, s3_key: null });
  });

  it('is scoped to the account, and needs media:write', async () => {
    const m = await persisted();
    const other = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: other.auth, payload: { name: 'shop' } });
    expect((await t.app.inject({ method: 'DELETE', url: url(m.id), headers: other.auth })).json()).toMatchObject({
      code: 'MEDIA_NOT_FOUND',
    });
    const reader = await t.newKey(a.accountId, ['media:read']);
    expect((await t.app.inject({ method: 'DELETE', url: url(m.id), headers: reader.auth })).statusCode).toBe(403);
    expect(await listKeys(s3, bucket)).toContain(m.key);
    expect((await t.app.inject({ url: url(m.id), headers: a.auth })).statusCode).toBe(200);
  });

  it('deleting a session removes its media keys, and with ?deleteMedia=true its objects', async () => {
    for (const [name, deleteMedia] of [
      ['keep', false],
      ['wipe', true],
    ] as const) {
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name } });
      const m = await persisted(name);
      const res = await t.app.inject({
        method: 'DELETE',
        url: `/api/sessions/${name}?deleteMedia=${deleteMedia}`,
        headers: a.auth,
      });
      expect(res.statusCode, res.body).toBe(204);
      expect(await row(m.id)).toBeUndefined();
      if (deleteMedia)
        await eventually(
          async () => ((await listKeys(s3, bucket)).includes(m.key) ? undefined : true),
          10_000,
          'the session object to go',
        );
      else expect(await listKeys(s3, bucket)).toContain(m.key);
    }
  });
});
