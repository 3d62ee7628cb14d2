import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { buildAppOn, FAST_WEBHOOKS, startReceiver, unsettledDeliveries, type Receiver } from '../support/webhooks.js';

const EVENTS = 1000;

/**
 * Two app instances on one PostgreSQL schema stand for two server processes sharing the
 * outbox: both ingest and both dispatch, and every event is delivered exactly once when
 * nothing fails.
 */
describe.runIf(DIALECTS.includes('postgres'))('two processes sharing one outbox (postgres)', () => {
  let first: TestApp;
  let second: FastifyInstance;
  let r: Receiver;
  let auth: { authorization: string };
  const env = {
    ...FAST_WEBHOOKS,
    SIMULATOR_ENABLED: 'true',
    RATE_LIMIT_MAX: '100000',
    WEBHOOK_CONCURRENCY: '8',
    OUTBOX_POLL_INTERVAL_MS: '20',
  };

  beforeAll(async () => {
    r = await startReceiver();
    // The first instance logs every delivery (debug), which tells the two instances' shares apart.
    first = await buildTestApp('postgres', { ...env, LOG_LEVEL: 'debug' });
    second = await buildAppOn(first.db.reopen(), env);
    const a = await first.newAccount();
    auth = a.auth;
    await first.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'shop' } });
    const res = await first.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: auth,
      payload: { url: r.url, events: ['message.received'] },
    });
    expect(res.statusCode, res.body).toBe(201);
  });
  afterAll(async () => {
    await second.close();
    await first.close();
    await r.close();
  });

  it(`delivers ${EVENTS} events, each once`, async () => {
    const apps = [first.app, second];
    const ingest = async (i: number) => {
      const res = await apps[i % 2]!.inject({
        method: 'POST',
        url: '/api/sessions/shop/simulate/message',
        headers: auth,
        payload: {
          key: { remoteJid: '15550001111@s.whatsapp.net', id: `MP-${i}` },
          messageTimestamp: 1_764_000_000,
          message: { conversation: `n${i}` },
        },
      });
      expect(res.statusCode).toBe(201);
    };
    for (let i = 0; i < EVENTS; i += 25) await Promise.all(Array.from({ length: 25 }, (_, k) => ingest(i + k)));
    await r.waitFor((rs) => rs.length >= EVENTS, 30_000);
    // Every delivery settled (sent once, or given up): a duplicate, if any, has shown up by then.
    await expect.poll(() => unsettledDeliveries(first.db.store.db), { timeout: 30_000 }).toBe(0);
    const perEvent = new Map<string, number>();
    for (const x of r.received) perEvent.set(x.body.id, (perEvent.get(x.body.id) ?? 0) + 1);
    expect(perEvent.size).toBe(EVENTS);
    expect([...perEvent.values()].filter((n) => n > 1)).toEqual([]);
    expect(new Set(r.received.map((x) => x.body.payload.id)).size).toBe(EVENTS);
    const attempts = await first.db.store.db
      .selectFrom('webhook_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(attempts.n)).toBe(EVENTS);
    // Both instances took part.
    const byFirst = first.logs.lines.filter((l) => l.msg === 'webhook delivered').length;
    expect(byFirst).toBeGreaterThan(0);
    expect(byFirst).toBeLessThan(EVENTS);
  });
});
