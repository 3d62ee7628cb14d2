import { randomBytes } from 'node:crypto';
import { Boom } from '@hapi/boom';
import type { S3Client } from '@aws-sdk/client-s3';
import type { WAMessage } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { eventually, FAST_SESSIONS, FakeWhatsApp, waMessage, type FakeSocket } from '../support/fake-whatsapp.js';
import { plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, getObject, pendingUploads, settingsBody, testS3Client } from '../support/s3.js';

describe("expired media: recovered through the sender phone's re-upload", () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let wa: FakeWhatsApp;
  let sock: FakeSocket;
  let auth: { authorization: string };
  let s3: S3Client;
  let bucket: string;
  const asked: WAMessage[] = [];

  beforeAll(async () => {
    cdn = await startFakeCdn();
    wa = new FakeWhatsApp();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    t = await buildTestApp(
      'sqlite',
      {
        ...FAST_SESSIONS,
        MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
        MEDIA_CDN_BASE_URL: cdn.origin,
      },
      undefined,
      { deps: { socketFactory: wa.factory } },
    );
    auth = (await t.newAccount()).auth;
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/account/settings',
          headers: auth,
          payload: settingsBody(bucket),
        })
      ).statusCode,
    ).toBe(200);
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'shop', start: true } });
    sock = await eventually(() => wa.of('shop')[0], 'a socket');
    await eventually(
      async () => (await t.app.inject({ url: '/api/shop/pair/qr', headers: auth })).json().event === 'qr',
      'a QR',
    );
    sock.pair();
    await eventually(
      async () => (await t.app.inject({ url: '/api/sessions/shop', headers: auth })).json().data.status === 'CONNECTED',
      'connected',
    );
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });
  beforeEach(() => {
    asked.length = 0;
  });

  /** A media object whose CDN copy is gone (the CDN answers `status`). */
  async function expired(status = 404) {
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(5000) });
    sock.upsert([waMessage(p.message)]);
    const id = (p.message.key as { id: string }).id;
    const row = await eventually(
      () => t.db.store.db.selectFrom('media').selectAll().where('message_id', '=', id).executeTakeFirst(),
      'the media',
    );
    cdn.misbehave(p.path, { status });
    return { ...p, mediaId: row.id, messageId: id };
  }

  /** The phone uploads the file again, to a new path of the CDN. */
  const reuploads = (encrypted: Buffer, opts: { stillGone?: boolean } = {}) => {
    wa.phone = {
      async reupload(message) {
        asked.push(message);
        const path = `/v/t62.7118-24/${randomBytes(6).toString('hex')}.enc`;
        if (opts.stillGone) cdn.misbehave(path, { status: 410 });
        else cdn.put(path, encrypted);
        Object.assign(message.message!.imageMessage!, { directPath: path, url: `https://mmg.whatsapp.net${path}` });
        return message;
      },
    };
  };

  const download = (mediaId: string) =>
    t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${mediaId}/download`, headers: auth });
  const gone = (res: Awaited<ReturnType<typeof download>>) => {
    expect(res.statusCode).toBe(410);
    expect(res.json().code).toBe('MEDIA_EXPIRED');
    return res.json().error as string;
  };

  it.each([404, 410])(
    'CDN %i → the phone re-uploads it, the new directPath is saved, and it downloads correctly',
    async (status) => {
      const m = await expired(status);
      reuploads(m.encrypted);
      const res = await download(m.mediaId);
      expect(res.statusCode).toBe(200);
      expect(sha256(res.rawPayload)).toBe(sha256(m.plaintext));
      // The phone was asked about exactly this message, with its media key.
      expect(asked).toHaveLength(1);
      expect(asked[0]!.key).toMatchObject({ id: m.messageId, remoteJid: '15550009999@s.whatsapp.net', fromMe: false });
      expect(Buffer.from(asked[0]!.message!.imageMessage!.mediaKey!)).toEqual(m.mediaKey);
      const row = await t.db.store.db
        .selectFrom('media')
        .selectAll()
        .where('id', '=', m.mediaId)
        .executeTakeFirstOrThrow();
      expect(row.direct_path).toMatch(/^\/v\/t62\.7118-24\//);
      // Saved: the next download goes straight to the new location.
      expect(sha256((await download(m.mediaId)).rawPayload)).toBe(sha256(m.plaintext));
      expect(asked).toHaveLength(1);
    },
  );

  it('persist recovers too, and stores the right bytes', async () => {
    const m = await expired();
    reuploads(m.encrypted);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${m.mediaId}/persist`,
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    expect(sha256((await getObject(s3, bucket, res.json().data.key)).bytes)).toBe(sha256(m.plaintext));
    expect(asked).toHaveLength(1);
  });

  it('the phone does not answer in time → 410 saying so', async () => {
    const m = await expired();
    wa.phone = { reupload: (msg) => (asked.push(msg), new Promise<never>(() => undefined)) };
    const started = Date.now();
    expect(gone(await download(m.mediaId))).toMatch(/did not answer the re-upload request within 0\.3 s/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(asked).toHaveLength(1);
  });

  it('the phone answers not-found → 410 saying so (persist alike, nothing left in the bucket)', async () => {
    const m = await expired();
    wa.phone = {
      reupload: () => Promise.reject(new Boom('Media re-upload failed by device (NOT_FOUND)', { statusCode: 404 })),
    };
    expect(gone(await download(m.mediaId))).toMatch(/no longer has it/);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${m.mediaId}/persist`,
      headers: auth,
    });
    expect(res.statusCode).toBe(410);
    expect(res.json().error).toMatch(/no longer has it/);
    expect(await pendingUploads(s3, bucket)).toEqual([]);
  });

  it('the re-uploaded copy is gone as well → 410, after exactly one retry', async () => {
    const m = await expired();
    reuploads(m.encrypted, { stillGone: true });
    expect(gone(await download(m.mediaId))).toMatch(/still gone .* after the sender's phone uploaded it again/);
    expect(asked).toHaveLength(1);
  });

  it('the session is not connected → 410 saying so, and the phone is not asked', async () => {
    const m = await expired();
    reuploads(m.encrypted);
    await t.app.inject({ method: 'POST', url: '/api/sessions/shop/stop', headers: auth });
    expect(gone(await download(m.mediaId))).toMatch(/session "shop" is not connected/);
    expect(asked).toHaveLength(0);
    await t.app.inject({ method: 'POST', url: '/api/sessions/shop/start', headers: auth });
    await eventually(
      async () => (await t.app.inject({ url: '/api/sessions/shop', headers: auth })).json().data.status === 'CONNECTED',
      'connected again',
    );
    sock = wa.latest('shop');
    expect((await download(m.mediaId)).statusCode).toBe(200);
  });
});
