import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ingestMessage } from '../support/media.js';
import { FAST_WEBHOOKS, opensslHmac, startReceiver, type Received, type Receiver } from '../support/webhooks.js';

const text = (id: string) => ({
  key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id },
  messageTimestamp: 1_764_000_000,
  message: { conversation: 'hi' },
});

/** The three Standard Webhooks headers of a delivery, as the reference library reads them. */
const std = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

describe.each(DIALECTS)('Standard Webhooks signatures (%s)', (dialect) => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  let r: Receiver;
  let n = 0;

  beforeAll(async () => {
    r = await startReceiver();
    t = await buildTestApp(dialect, { SIMULATOR_ENABLED: 'true', ...FAST_WEBHOOKS });
    a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
  });
  afterAll(async () => {
    await t.close();
    await r.close();
  });

  async function deliverOne(hmacKey?: string) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: a.auth,
      payload: { url: `${r.url}?n=${++n}`, events: ['message.received'], ...(hmacKey ? { hmacKey } : {}) },
    });
    expect(res.statusCode, res.body).toBe(201);
    const w = res.json<{ data: { id: string; hmacKey: string } }>().data;
    const before = r.received.length;
    await ingestMessage(t, a.auth, 'shop', text(`STD-${n}`));
    await r.waitFor((rs) => rs.some((x, i) => i >= before && x.path.endsWith(`n=${n}`)));
    const got = r.received.find((x) => x.path.endsWith(`n=${n}`))!;
    await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${w.id}`, headers: a.auth });
    return { w, got };
  }

  it('a generated whsec_<base64> secret: the reference library verifies the delivery and rejects replays', async () => {
    const { w, got } = await deliverOne();
    expect(w.hmacKey).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(got.headers['webhook-id']).toBe(got.body.id);
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    const wh = new Webhook(w.hmacKey);
    expect(wh.verify(got.raw.toString('utf8'), std(got))).toEqual(got.body);

    // A replay with a fresh timestamp: the timestamp is inside the signature, so it fails.
    const fresh = { ...std(got), 'webhook-timestamp': String(Number(got.headers['webhook-timestamp']) + 60) };
    expect(() => wh.verify(got.raw.toString('utf8'), fresh)).toThrow(WebhookVerificationError);
    // A replay of the capture as it was, an hour later: older than the library's tolerance.
    const old = { ...std(got), 'webhook-timestamp': String(Number(got.headers['webhook-timestamp']) - 3600) };
    expect(() => wh.verify(got.raw.toString('utf8'), old)).toThrow(/too old/i);
    // Another id under the same timestamp and body does not verify either.
    expect(() => wh.verify(got.raw.toString('utf8'), { ...std(got), 'webhook-id': 'evt_other' })).toThrow(
      WebhookVerificationError,
    );
    // Titan's header is still there, over the body alone.
    expect(got.headers['x-webhook-signature']).toBe(`sha256=${await opensslHmac(w.hmacKey, got.raw)}`);
  });

  it('a key the tenant chose verifies as a raw key; a legacy whsec_<hex> key verifies as the library reads it', async () => {
    const own = await deliverOne('my-own-hmac-key-0123456789');
    expect(
      new Webhook('my-own-hmac-key-0123456789', { format: 'raw' }).verify(own.got.raw.toString('utf8'), std(own.got)),
    ).toEqual(own.got.body);
    const hex = `whsec_${'ab'.repeat(32)}`;
    const legacy = await deliverOne(hex);
    expect(new Webhook(hex).verify(legacy.got.raw.toString('utf8'), std(legacy.got))).toEqual(legacy.got.body);
    expect(legacy.got.headers['x-webhook-signature']).toBe(`sha256=${await opensslHmac(hex, legacy.got.raw)}`);
  });

  it('rotation: both secrets sign during the window, then the old one is dropped', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: a.auth,
      payload: { url: `${r.url}?rot=1`, events: ['message.received'] },
    });
    const w = created.json<{ data: { id: string; hmacKey: string } }>().data;
    const rotate = async (body: Record<string, unknown>) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/webhooks/${w.id}/rotate-secret`,
        headers: a.auth,
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ data: { hmacKey: string; previousSecretExpiresAt: string | null } }>().data;
    };
    const deliver = async (id: string) => {
      const before = r.received.length;
      await ingestMessage(t, a.auth, 'shop', text(id));
      await r.waitFor((rs) => rs.slice(before).some((x) => x.path.endsWith('rot=1')));
      return r.received.slice(before).find((x) => x.path.endsWith('rot=1'))!;
    };

    const next = await rotate({});
    expect(next.hmacKey).not.toBe(w.hmacKey);
    expect(Date.parse(next.previousSecretExpiresAt!) - Date.now()).toBeGreaterThan(86_000_000);
    expect((await t.app.inject({ url: `/api/webhooks/${w.id}`, headers: a.auth })).body).not.toContain(next.hmacKey);
    const during = await deliver('ROT-1');
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [w.hmacKey, next.hmacKey])
      expect(new Webhook(secret).verify(during.raw.toString('utf8'), std(during))).toEqual(during.body);

    const last = await rotate({ previousValidSeconds: 0 });
    expect(last.previousSecretExpiresAt).toBeNull();
    const after = await deliver('ROT-2');
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(new Webhook(last.hmacKey).verify(after.raw.toString('utf8'), std(after))).toEqual(after.body);
    expect(() => new Webhook(next.hmacKey).verify(after.raw.toString('utf8'), std(after))).toThrow(
      WebhookVerificationError,
    );

    const other = await t.newAccount();
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: `/api/webhooks/${w.id}/rotate-secret`,
          headers: other.auth,
          payload: {},
        })
      ).statusCode,
    ).toBe(404);
  });
});
