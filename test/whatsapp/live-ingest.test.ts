import { aesEncryptGCM, hkdf, proto } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA_TYPES } from '../../src/media/media-type.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { eventually, FAST_SESSIONS, FakeWhatsApp, waMessage, type FakeSocket } from '../support/fake-whatsapp.js';
import { plaintextOf, publishMedia, sha256 } from '../support/media.js';

const WRAPPERS: [string, (m: Record<string, unknown>) => Record<string, unknown>][] = [
  ['ephemeral', (m) => ({ ephemeralMessage: { message: m } })],
  ['view once v2', (m) => ({ viewOnceMessageV2: { message: m } })],
  ['view once in ephemeral', (m) => ({ ephemeralMessage: { message: { viewOnceMessage: { message: m } } } })],
  ['document with caption', (m) => ({ documentWithCaptionMessage: { message: m } })],
];

describe('live ingest from a connected session', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let wa: FakeWhatsApp;
  let sock: FakeSocket;
  let auth: { authorization: string };

  beforeAll(async () => {
    cdn = await startFakeCdn();
    wa = new FakeWhatsApp();
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
  });

  const mediaRow = (messageId: string) =>
    t.db.store.db.selectFrom('media').selectAll().where('message_id', '=', messageId).executeTakeFirst();

  /** The message arrives on the socket; resolves with its media object once recorded. */
  async function arrive(p: Awaited<ReturnType<typeof publishMedia>>, type: 'notify' | 'append' = 'notify') {
    sock.upsert([waMessage(p.message)], type);
    const id = (p.message.key as { id: string }).id;
    const row = await eventually(() => mediaRow(id), `media of ${id}`);
    const meta = await t.app.inject({ url: `/api/sessions/shop/media/${row.id}`, headers: auth });
    expect(meta.statusCode).toBe(200);
    return meta.json().data as { id: string; type: string; messageId: string };
  }

  it.each(MEDIA_TYPES)('a new %s message creates a media object that downloads', async (type) => {
    const p = await publishMedia(cdn, { type, plaintext: plaintextOf(3000) });
    const media = await arrive(p);
    expect(media.type).toBe(type);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${media.id}/download`,
      headers: auth,
    });
    expect(dl.statusCode).toBe(200);
    expect(sha256(dl.rawPayload)).toBe(sha256(p.plaintext));
  });

  it.each(WRAPPERS)('a %s wrapped message (history sync, "append") creates a media object', async (_name, wrap) => {
    const type = _name === 'document with caption' ? 'document' : 'image';
    const p = await publishMedia(cdn, { type, plaintext: plaintextOf(500), wrap });
    expect((await arrive(p, 'append')).type).toBe(type);
  });

  it('round video notes and voice notes keep their media type', async () => {
    const ptv = await publishMedia(cdn, {
      type: 'video',
      plaintext: plaintextOf(400),
      wrap: (m) => ({ ptvMessage: m.videoMessage }),
    });
    expect((await arrive(ptv)).type).toBe('video');
    const ptt = await publishMedia(cdn, { type: 'audio', plaintext: plaintextOf(400), fields: { ptt: true } });
    expect((await arrive(ptt)).type).toBe('audio');
  });

  it('every message of a batch is ingested in order; text-only ones record no media; duplicates one', async () => {
    const a = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(100) });
    const text = waMessage({
      key: { remoteJid: '15550009999@s.whatsapp.net', id: 'TEXT-1' },
      message: { conversation: 'hi' },
    });
    sock.upsert([text, waMessage(a.message), waMessage(a.message)]);
    const id = (a.message.key as { id: string }).id;
    await eventually(() => mediaRow(id), 'the media');
    expect(await mediaRow('TEXT-1')).toBeUndefined();
    expect(await t.db.store.db.selectFrom('media').select('id').where('message_id', '=', id).execute()).toHaveLength(1);
  });

  it('messages.media-update (a phone re-upload notification) points the media at the new directPath', async () => {
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(700) });
    const media = await arrive(p);
    const fresh = `/v/t62.7118-24/refreshed-${media.id}.enc`;
    cdn.put(fresh, p.encrypted);
    cdn.misbehave(p.path, { status: 404 });
    // Encrypted as the phone does: AES-GCM under the media key's retry key, the message id as AAD.
    const plain = proto.MediaRetryNotification.encode({
      stanzaId: media.messageId,
      directPath: fresh,
      result: proto.MediaRetryNotification.ResultType.SUCCESS,
    }).finish();
    const iv = Buffer.alloc(12, 7);
    const key = hkdf(p.mediaKey, 32, { info: 'WhatsApp Media Retry Notification' });
    const ciphertext = aesEncryptGCM(plain, key, iv, Buffer.from(media.messageId));
    sock.emit('messages.media-update', [
      { key: { id: media.messageId, remoteJid: '15550009999@s.whatsapp.net' }, media: { ciphertext, iv } },
    ]);
    const row = await eventually(async () => {
      const r = await mediaRow(media.messageId);
      return r?.direct_path === fresh && r;
    }, 'the refreshed directPath');
    expect(row.url).toBe(cdn.origin + fresh);
    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${media.id}/download`,
      headers: auth,
    });
    expect(sha256(dl.rawPayload)).toBe(sha256(p.plaintext));
  });
});
