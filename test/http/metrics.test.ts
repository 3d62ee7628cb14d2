import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ingestMessage } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

const text = (body: string) => ({
  key: {
    remoteJid: '15550001111@s.whatsapp.net',
    fromMe: false,
    id: `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
  },
  messageTimestamp: 1_764_000_000,
  message: { conversation: body },
});

/** An image message uploaded at `mediaKeyTimestamp` (seconds); the CDN is never asked. */
const imageAt = (id: string, mediaKeyTimestamp: number) => ({
  key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id },
  messageTimestamp: mediaKeyTimestamp,
  message: {
    imageMessage: {
      url: 'https://mmg.whatsapp.net/v/t62/x.enc',
      mimetype: 'image/jpeg',
      mediaKey: randomBytes(32).toString('base64'),
      fileSha256: randomBytes(32).toString('base64'),
      fileEncSha256: randomBytes(32).toString('base64'),
      fileLength: 1000,
      mediaKeyTimestamp,
    },
  },
});

describe.each(DIALECTS)('/metrics: sessions, webhook deliveries and attempts (%s)', (dialect) => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    t = await buildTestApp(dialect, { SIMULATOR_ENABLED: 'true', ...FAST_WEBHOOKS });
    a = await t.newAccount();
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('counts the sessions of every account by status', async () => {
    const before = await scrapeMetrics(t.app);
    expect(before.get('titan_sessions{status="DISCONNECTED"}')).toBe(0);
    const b = await t.newAccount();
    for (const [auth, name] of [
      [a.auth, 'one'],
      [a.auth, 'two'],
      [b.auth, 'three'],
    ] as const) {
      expect(
        (await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name } })).statusCode,
      ).toBe(201);
    }
    const after = await scrapeMetrics(t.app);
    expect(after.get('titan_sessions{status="DISCONNECTED"}')).toBe(3);
    expect(after.get('titan_sessions{status="CONNECTED"}')).toBe(0);
  });

  it('counts attempts by outcome, and shows deliveries waiting for a retry or failed for good', async () => {
    const attempts = async () => {
      const m = await scrapeMetrics(t.app);
      return {
        delivered: m.get('titan_webhook_attempts_total{outcome="delivered"}'),
        retry: m.get('titan_webhook_attempts_total{outcome="retry"}'),
        failed: m.get('titan_webhook_attempts_total{outcome="failed"}'),
        pending: m.get('titan_webhook_deliveries{state="pending"}'),
        failedDeliveries: m.get('titan_webhook_deliveries{state="failed"}'),
        timed: m.get('titan_webhook_attempt_duration_seconds_count'),
      };
    };
    expect(await attempts()).toEqual({ delivered: 0, retry: 0, failed: 0, pending: 0, failedDeliveries: 0, timed: 0 });

    // One receiver answers 500 once, then 200 (a retry 3 s later); another always 500, with no retry.
    const flaky = await startReceiver();
    const down = await startReceiver();
    receivers.push(flaky, down);
    flaky.respond = (_r, n) => (n === 1 ? 500 : 200);
    down.respond = () => 500;
    for (const [url, retries] of [
      [flaky.url, { attempts: 2, delaySeconds: 3, policy: 'constant' }],
      [down.url, { attempts: 1, delaySeconds: 0, policy: 'constant' }],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: a.auth,
        payload: { url, events: ['message.received'], retries },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    await ingestMessage(t, a.auth, 'one', text('hello'));

    await flaky.waitFor((rs) => rs.length === 1);
    await down.waitFor((rs) => rs.length === 1);
    await expect
      .poll(attempts)
      .toEqual({ delivered: 0, retry: 1, failed: 1, pending: 1, failedDeliveries: 1, timed: 2 });
    // The delivery waiting for its retry has an age; none is waiting once it went out.
    const age = async () => (await scrapeMetrics(t.app)).get('titan_webhook_oldest_pending_age_seconds');
    expect(await age()).toBeGreaterThan(0);
    await flaky.waitFor((rs) => rs.length === 2);
    await expect
      .poll(attempts, { timeout: 5_000 })
      .toEqual({ delivered: 1, retry: 1, failed: 1, pending: 0, failedDeliveries: 1, timed: 3 });
    expect(await age()).toBe(0);
  });

  it('counts unpersisted media whose CDN copy expires within 24 hours (titan_media_at_risk)', async () => {
    const atRisk = async () => (await scrapeMetrics(t.app)).get('titan_media_at_risk');
    expect(await atRisk()).toBe(0);
    const day = 86_400;
    const now = Math.floor(Date.now() / 1000);
    // Uploaded 13.5 days ago: expires in half a day. 10 days ago: safe for now. 15 days ago: already gone.
    for (const [id, uploaded] of [
      ['RISK', now - 13.5 * day],
      ['SAFE', now - 10 * day],
      ['GONE', now - 15 * day],
    ] as const) {
      await ingestMessage(t, a.auth, 'one', imageAt(`3EB0AT${id}`, Math.floor(uploaded)));
    }
    expect(await atRisk()).toBe(1);
  });
});
