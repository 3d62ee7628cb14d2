import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ingestMessage } from '../support/media.js';
import { CONTENTS, jpegThumbnail, waMessage } from './wa-messages.js';

type Media = {
  id: string;
  messageId: string;
  type: string;
  createdAt: string;
  persisted: boolean;
  from: string | null;
} & Record<string, unknown>;
type Page = { data: Media[]; next: string | null };

describe.each(DIALECTS)('finding media (%s)', (dialect) => {
  let t: TestApp;
  let auth: { authorization: string };
  let other: { authorization: string };

  beforeAll(async () => {
    t = await buildTestApp(dialect, { SIMULATOR_ENABLED: 'true', RATE_LIMIT_MAX: '100000' });
    auth = (await t.newAccount()).auth;
    other = (await t.newAccount()).auth;
    for (const a of [auth, other])
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a, payload: { name: 'shop' } });
  });
  afterAll(() => t.close());

  const get = (url: string, headers = auth) => t.app.inject({ url, headers });
  const page = async (query: string, headers = auth) => {
    const res = await get(`/api/sessions/shop/media?${query}`, headers);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<Page>();
  };

  it('gives every metadata field from the message itself, null where the message does not say', async () => {
    const thumbs = { image: jpegThumbnail(), video: jpegThumbnail(), document: jpegThumbnail() };
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [
        'image',
        CONTENTS.image(thumbs.image),
        {
          type: 'image',
          width: 1280,
          height: 960,
          durationSeconds: null,
          isVoiceNote: null,
          isAnimated: null,
          pageCount: null,
          caption: 'the receipt',
          hasThumbnail: true,
        },
      ],
      [
        'video',
        CONTENTS.video(thumbs.video),
        {
          type: 'video',
          width: 720,
          height: 1280,
          durationSeconds: 37,
          isVoiceNote: null,
          isAnimated: false,
          pageCount: null,
          hasThumbnail: true,
        },
      ],
      [
        'gif',
        CONTENTS.gif(),
        { type: 'video', width: 320, height: 240, durationSeconds: 3, isAnimated: true, hasThumbnail: false },
      ],
      ['round video note', CONTENTS.ptv(), { type: 'video', durationSeconds: 12, isVoiceNote: true, isAnimated: null }],
      [
        'voice note',
        CONTENTS.voice(),
        {
          type: 'audio',
          width: null,
          height: null,
          durationSeconds: 9,
          isVoiceNote: true,
          isAnimated: null,
          pageCount: null,
          hasThumbnail: false,
        },
      ],
      ['audio', CONTENTS.audio(), { type: 'audio', durationSeconds: 241, isVoiceNote: false }],
      [
        'document',
        CONTENTS.document(thumbs.document),
        {
          type: 'document',
          fileName: 'Invoice 2026-11.pdf',
          pageCount: 4,
          width: null,
          durationSeconds: null,
          hasThumbnail: true,
        },
      ],
      [
        'sticker',
        CONTENTS.sticker(),
        { type: 'sticker', width: 512, height: 512, isAnimated: true, durationSeconds: null, isVoiceNote: null },
      ],
    ];
    for (const [name, content, expected] of cases) {
      const { mediaId } = await ingestMessage(
        t,
        auth,
        'shop',
        waMessage(content, { from: '15557770000@s.whatsapp.net' }),
      );
      const res = await get(`/api/sessions/shop/media/${mediaId}`);
      expect(res.statusCode, name).toBe(200);
      expect(res.json<{ data: unknown }>().data, name).toMatchObject({
        ...expected,
        from: '15557770000@s.whatsapp.net',
        expired: false,
        persisted: false,
      });
    }
    // A voice note has no size and a document no duration: absent fields are null, not 0.
    const [voice] = (await page('type=audio&limit=200')).data.filter((m) => m.isVoiceNote === true);
    expect(voice).toMatchObject({ width: null, height: null, pageCount: null });
  });

  it('serves the thumbnail bytes of the message, cached, and 404 THUMBNAIL_NOT_FOUND without one', async () => {
    const thumb = jpegThumbnail();
    const { mediaId } = await ingestMessage(t, auth, 'shop', waMessage(CONTENTS.image(thumb)));
    const res = await get(`/api/sessions/shop/media/${mediaId}/thumbnail`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
    expect(res.rawPayload.equals(thumb)).toBe(true);

    const bare = await ingestMessage(t, auth, 'shop', waMessage(CONTENTS.voice()));
    const none = await get(`/api/sessions/shop/media/${bare.mediaId}/thumbnail`);
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({ code: 'THUMBNAIL_NOT_FOUND' });
    // Another account's media is simply not found.
    const foreign = await get(`/api/sessions/shop/media/${mediaId}/thumbnail`, other);
    expect(foreign.json()).toMatchObject({ code: 'MEDIA_NOT_FOUND' });
  });

  it('finds media by message id, scoped to the account', async () => {
    const msg = waMessage(CONTENTS.document(jpegThumbnail()));
    const { mediaId, messageId } = await ingestMessage(t, auth, 'shop', msg);
    const res = await get(`/api/sessions/shop/media/by-message/${messageId}`);
    expect(res.statusCode).toBe(200);
    expect(res.json<{ data: Media }>().data).toMatchObject({
      id: mediaId,
      messageId,
      type: 'document',
      fileName: 'Invoice 2026-11.pdf',
    });
    expect((await get(`/api/sessions/shop/media/by-message/3EB0NOSUCHMESSAGE`)).json()).toMatchObject({
      code: 'MEDIA_NOT_FOUND',
    });
    const foreign = await get(`/api/sessions/shop/media/by-message/${messageId}`, other);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ code: 'MEDIA_NOT_FOUND' });
    // The listing filter by message id says the same.
    expect((await page(`messageId=${messageId}`)).data.map((m) => m.id)).toEqual([mediaId]);
  });

  it('filters by type, persisted, sender, received time and CDN expiry', async () => {
    const before = new Date().toISOString();
    const alice = '15551230001@s.whatsapp.net';
    const ids = {
      img: (await ingestMessage(t, auth, 'shop', waMessage(CONTENTS.image(jpegThumbnail()), { from: alice }))).mediaId!,
      grp: (
        await ingestMessage(
          t,
          auth,
          'shop',
          waMessage(CONTENTS.sticker(), { from: alice, group: '120363000000000001@g.us' }),
        )
      ).mediaId!,
      doc: (
        await ingestMessage(
          t,
          auth,
          'shop',
          waMessage(CONTENTS.document(jpegThumbnail()), { from: '15559990000@s.whatsapp.net' }),
        )
      ).mediaId!,
    };
    const since = `since=${encodeURIComponent(before)}`;
    expect((await page(`${since}&from=${encodeURIComponent(alice)}`)).data.map((m) => m.id)).toEqual([
      ids.grp,
      ids.img,
    ]);
    // A phone number matches its JID, in groups too (the participant is the sender).
    expect((await page(`${since}&from=%2B15551230001`)).data.map((m) => m.id)).toEqual([ids.grp, ids.img]);
    expect((await page(`${since}&type=document`)).data.map((m) => m.id)).toEqual([ids.doc]);
    expect((await page(`${since}&persisted=true`)).data).toEqual([]);
    expect((await page(`${since}&persisted=false`)).data.map((m) => m.id)).toEqual([ids.doc, ids.grp, ids.img]);
    const until = (await page(`${since}&limit=1`)).data[0]!.createdAt;
    expect((await page(`${since}&until=${encodeURIComponent(until)}`)).data.every((m) => m.createdAt < until)).toBe(
      true,
    );
    // cdnExpiresAt is 14 days after the media key timestamp (now).
    const in13 = new Date(Date.now() + 13 * 86_400_000).toISOString();
    const in15 = new Date(Date.now() + 15 * 86_400_000).toISOString();
    expect((await page(`${since}&expiringBefore=${in13}`)).data).toEqual([]);
    expect((await page(`${since}&expiringBefore=${in15}`)).data).toHaveLength(3);
    // Bad filters are a 400 with a code, never a 500.
    for (const q of ['type=gif', 'persisted=maybe', 'since=yesterday', 'limit=201', 'limit=0', 'from=%25', 'bogus=1']) {
      const res = await get(`/api/sessions/shop/media?${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.json(), q).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    const bad = await get(`/api/sessions/shop/media?cursor=not-a-cursor`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'INVALID_CURSOR' });
    expect((await get(`/api/sessions/nosuch/media`)).json()).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  });

  it('pages through 250 media newest first while more arrive, each exactly once', async () => {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const ingest = async () => (await ingestMessage(t, a.auth, 'shop', waMessage(CONTENTS.voice()))).mediaId!;
    const original: string[] = [];
    for (let i = 0; i < 250; i++) original.push(await ingest());

    const seen: Media[] = [];
    const arrived: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: Page = await page(`limit=100${cursor ? `&cursor=${cursor}` : ''}`, a.auth);
      seen.push(...p.data);
      cursor = p.next;
      pages++;
      // New media arrive between pages: they sort before the cursor and never show up later.
      for (let i = 0; i < 5; i++) arrived.push(await ingest());
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((m) => m.id)).toEqual([...original].reverse());
    const order = seen.map((m) => `${m.createdAt}`);
    expect([...order].sort().reverse()).toEqual(order);
    // And the first page now starts with the newest arrival.
    expect((await page('limit=1', a.auth)).data[0]!.id).toBe(arrived.at(-1));
  });

  it('documents the new routes, their filters and fields in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ url: '/docs/openapi.json' })).json<{
      paths: Record<
        string,
        Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    }>();
    const list = doc.paths['/api/sessions/{session}/media']!.get!;
    expect(
      list
        .parameters!.filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['cursor', 'expiringBefore', 'from', 'limit', 'messageId', 'persisted', 'since', 'type', 'until'].sort());
    expect(doc.paths['/api/sessions/{session}/media/by-message/{messageId}']!.get).toBeDefined();
    expect(doc.paths['/api/sessions/{session}/media/{mediaId}/thumbnail']!.get!.responses).toHaveProperty('404');
    expect(doc.paths['/api/sessions/{session}/media/{mediaId}']!.delete!.parameters!.map((p) => p.name)).toContain(
      'keepObject',
    );
    expect(doc.paths['/api/sessions/{session}']!.delete!.parameters!.map((p) => p.name)).toContain('deleteMedia');
    expect(Object.keys(doc.components.schemas.Media!.properties)).toEqual(
      expect.arrayContaining([
        'width',
        'height',
        'durationSeconds',
        'isVoiceNote',
        'isAnimated',
        'pageCount',
        'hasThumbnail',
        'expired',
        'from',
      ]),
    );
    expect(Object.keys(doc.components.schemas.Settings!.properties)).toEqual(
      expect.arrayContaining(['persistBeforeExpiry', 'retention']),
    );
  });
});
