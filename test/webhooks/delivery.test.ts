import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { FAST_WEBHOOKS, opensslHmac, startReceiver, unsettledDeliveries, type Receiver } from '../support/webhooks.js';

type Auth = { authorization: string };
const textMessage = (
  text: string,
  id = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
  extra: Record<string, unknown> = {},
) => ({
  key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id },
  messageTimestamp: 1_764_000_000,
  pushName: 'Alice',
  message: { conversation: text },
  ...extra,
});

describe.each(DIALECTS)('webhook delivery (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    cdn = await startFakeCdn();
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      ...FAST_WEBHOOKS,
    });
    a = await t.newAccount();
    for (const name of ['shop', 'other'])
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name } });
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function receiver() {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  }
  async function webhook(body: Record<string, unknown>, auth: Auth = a.auth) {
    const res = await t.app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload: body });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ data: { id: string; hmacKey: string } }>().data;
  }
  const deliveries = async (id: string, auth: Auth = a.auth) => {
    const res = await t.app.inject({ url: `/api/webhooks/${id}/deliveries`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{
      data: {
        id: string;
        eventId: string;
        state: string;
        attempts: number;
        redeliveryOf: string | null;
        log: {
          attempt: number;
          statusCode: number | null;
          error: string | null;
          durationMs: number;
          nextRetryAt: string | null;
        }[];
      }[];
    }>().data;
  };
  async function waitForDelivery(id: string, state: string) {
    for (let i = 0; i < 400; i++) {
      const ds = await deliveries(id);
      if (ds.length > 0 && ds.every((d) => d.state === state)) return ds;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`deliveries of ${id} never all became ${state}: ${JSON.stringify(await deliveries(id))}`);
  }

  it('signs the exact body (openssl agrees) and sends the envelope, headers and message.received payload', async () => {
    const r = await receiver();
    const w = await webhook({
      url: r.url,
      label: 'crm',
      headers: [{ name: 'Authorization', value: 'Bearer receiver-token' }],
    });
    expect(w.hmacKey).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const { messageId } = await ingestMessage(t, a.auth, 'shop', textMessage('Hello there'));
    await r.waitFor((rs) => rs.length === 1);
    const got = r.received[0]!;
    expect(got.headers['x-webhook-signature']).toBe(`sha256=${await opensslHmac(w.hmacKey, got.raw)}`);
    expect(got.headers['x-webhook-id']).toBe(got.body.id);
    expect(Math.abs(Number(got.headers['x-webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers.authorization).toBe('Bearer receiver-token');
    expect(got.body).toMatchObject({ id: expect.stringMatching(/^evt_/), event: 'message.received', session: 'shop' });
    expect(new Date(got.body.timestamp).toISOString()).toBe(got.body.timestamp);
    expect(got.body.payload).toEqual({
      id: messageId,
      from: '15550001111@s.whatsapp.net',
      sender: '15550001111@s.whatsapp.net',
      type: 'text',
      body: 'Hello there',
      text: 'Hello there',
      timestamp: 1_764_000_000,
      fromMe: false,
      pushName: 'Alice',
      isGroup: false,
    });
    // The key is shown once: not by GET, and not stored in the clear.
    expect((await t.app.inject({ url: `/api/webhooks/${w.id}`, headers: a.auth })).body).not.toContain(w.hmacKey);
    const row = await t.db.store.db.selectFrom('webhooks').selectAll().where('id', '=', w.id).executeTakeFirstOrThrow();
    // Plain substring checks: a base64 key may hold `+` and `/`.
    expect(row.hmac_key + row.headers).not.toContain(w.hmacKey);
    expect(row.hmac_key + row.headers).not.toContain('receiver-token');
    await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
  });

  it('emits message.received once per (session, message), replays included; media messages carry the media fields', async () => {
    const r = await receiver();
    const w = await webhook({ url: r.url, events: ['message.received'] });
    const msg = textMessage('once');
    await ingestMessage(t, a.auth, 'shop', msg);
    await ingestMessage(t, a.auth, 'shop', msg);
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(3000), fields: { caption: 'A cat' } });
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    await ingestMessage(t, a.auth, 'shop', p.message);
    await waitForDelivery(w.id, 'delivered');
    expect((await deliveries(w.id)).length).toBe(2);
    const media = r.events('message.received').find((b) => b.payload.type === 'image')!;
    expect(media.payload).toMatchObject({
      mediaId,
      type: 'image',
      mimeType: 'image/jpeg',
      fileLength: 3000,
      fileName: null,
      caption: 'A cat',
      text: 'A cat',
      sha256: sha256(p.plaintext),
    });
    expect(media.payload).not.toHaveProperty('mediaUrl');
    await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
  });

  it('retries per policy: 500 twice then 200 → delivered on attempt 3, the log shows all three', async () => {
    const r = await receiver();
    r.respond = (_x, n) => (n <= 2 ? 500 : 200);
    const w = await webhook({ url: r.url, retries: { attempts: 5, delaySeconds: 0.05, policy: 'linear' } });
    await ingestMessage(t, a.auth, 'shop', textMessage('flaky'));
    const [d] = await waitForDelivery(w.id, 'delivered');
    expect(d).toMatchObject({ state: 'delivered', attempts: 3 });
    expect(d!.log.map((l) => [l.attempt, l.statusCode, l.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 500, 'HTTP 500'],
      [3, 200, null],
    ]);
    expect(d!.log[0]!.nextRetryAt).not.toBeNull();
    expect(d!.log[2]!.nextRetryAt).toBeNull();
    // linear: 50 ms after the first failure, 100 ms after the second.
    expect(r.received[2]!.at - r.received[0]!.at).toBeGreaterThanOrEqual(140);
    // Every attempt carries the same event id, each body correctly signed.
    expect(new Set(r.received.map((x) => x.headers['x-webhook-id'])).size).toBe(1);
    await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
  });

  it('receiver down longer than the policy → failed for good, visible in the log; redeliver sends it again', async () => {
    const r = await receiver();
    await r.down();
    const w = await webhook({ url: r.url, retries: { attempts: 3, delaySeconds: 0.02, policy: 'exponential' } });
    await ingestMessage(t, a.auth, 'shop', textMessage('into the void'));
    const [d] = await waitForDelivery(w.id, 'failed');
    expect(d!.attempts).toBe(3);
    expect(d!.log.map((l) => l.statusCode)).toEqual([null, null, null]);
    expect(d!.log.every((l) => /ECONNREFUSED/.test(l.error ?? ''))).toBe(true);
    expect(d!.log[2]!.nextRetryAt).toBeNull();
    expect(r.received).toHaveLength(0);

    await r.up();
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/webhooks/${w.id}/deliveries/${d!.id}/redeliver`,
      headers: a.auth,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json().data).toMatchObject({ eventId: d!.eventId, redeliveryOf: d!.id, state: 'pending' });
    await r.waitFor((rs) => rs.length === 1);
    expect(r.received[0]!.body.id).toBe(d!.eventId);
    // The receiver has the request before the attempt is recorded: wait for the record.
    await expect
      .poll(async () => (await deliveries(w.id)).map((x) => x.state).sort(), { timeout: 5_000 })
      .toEqual(['delivered', 'failed']);
    await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
  });

  it('respects the events and session filters, and never crosses accounts', async () => {
    const r = await receiver();
    const statusOnly = await webhook({ url: `${r.url}?w=status`, events: ['session.status'] });
    const otherOnly = await webhook({ url: `${r.url}?w=other`, session: 'other' });
    const shopMessages = await webhook({ url: `${r.url}?w=shop`, session: 'shop', events: ['message.received'] });
    const b = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: b.auth, payload: { name: 'shop' } });
    const bHook = await webhook({ url: `${r.url}?w=b` }, b.auth);

    await ingestMessage(t, a.auth, 'shop', textMessage('to shop'));
    await ingestMessage(t, a.auth, 'other', textMessage('to other'));
    await ingestMessage(t, b.auth, 'shop', textMessage('to b'));
    await r.waitFor((rs) => rs.length === 3);
    // Every delivery written was sent: nothing else can still arrive.
    await expect.poll(() => unsettledDeliveries(t.db.store.db)).toBe(0);
    const texts = (w: string) => r.received.filter((x) => x.path.endsWith(`?w=${w}`)).map((x) => x.body.payload.text);
    expect(texts('shop')).toEqual(['to shop']);
    expect(texts('other')).toEqual(['to other']);
    expect(texts('b')).toEqual(['to b']);
    expect(texts('status')).toEqual([]);
    expect(await deliveries(statusOnly.id)).toEqual([]);
    // Another account's webhook is indistinguishable from a missing one.
    for (const [method, url] of [
      ['GET', `/api/webhooks/${bHook.id}`],
      ['GET', `/api/webhooks/${bHook.id}/deliveries`],
      ['POST', `/api/webhooks/${bHook.id}/test`],
      ['DELETE', `/api/webhooks/${bHook.id}`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: a.auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('WEBHOOK_NOT_FOUND');
    }
    expect(
      (await t.app.inject({ url: '/api/webhooks', headers: a.auth })).json().data.map((w: { id: string }) => w.id),
    ).not.toContain(bHook.id);
    for (const w of [statusOnly, otherOnly, shopMessages])
      await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
  });

  it('POST …/test sends a signed webhook.test to that webhook only; a disabled webhook gets nothing', async () => {
    const r = await receiver();
    const w = await webhook({ url: r.url, events: ['session.status'], hmacKey: 'my-own-hmac-key-0123456789' });
    const res = await t.app.inject({ method: 'POST', url: `/api/webhooks/${w.id}/test`, headers: a.auth });
    expect(res.statusCode, res.body).toBe(202);
    await r.waitFor((rs) => rs.length === 1);
    const got = r.received[0]!;
    expect(got.body).toMatchObject({ event: 'webhook.test', session: null, payload: { webhookId: w.id } });
    expect(got.headers['x-webhook-signature']).toBe(
      `sha256=${await opensslHmac('my-own-hmac-key-0123456789', got.raw)}`,
    );

    const off = await t.app.inject({
      method: 'PATCH',
      url: `/api/webhooks/${w.id}`,
      headers: a.auth,
      payload: { enabled: false, events: ['*'] },
    });
    expect(off.json().data).toMatchObject({ enabled: false, events: ['*'] });
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/webhooks/${w.id}/test`, headers: a.auth })).json().code,
    ).toBe('WEBHOOK_DISABLED');
    await ingestMessage(t, a.auth, 'shop', textMessage('nobody listens'));
    await expect.poll(() => unsettledDeliveries(t.db.store.db)).toBe(0);
    expect(r.received).toHaveLength(1);
    expect(await deliveries(w.id)).toHaveLength(1);
    await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
  });
});
