import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { ingestMessage } from '../support/media.js';
import { FAST_WEBHOOKS, startReceiver, unsettledDeliveries, type Receiver } from '../support/webhooks.js';

const HOUR = 3_600_000;

// The dispatcher prunes the delivery log as it claims work: what ended longer ago than the
// retention goes, what is newer stays. The clock is moved, not waited for.
describe.each(DIALECTS)('delivery log retention (%s)', (dialect) => {
  let t: TestApp;
  let r: Receiver;
  let offset = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offset) };

  beforeAll(async () => {
    r = await startReceiver();
    t = await buildTestApp(
      dialect,
      { ...FAST_WEBHOOKS, SIMULATOR_ENABLED: 'true', WEBHOOK_LOG_RETENTION_HOURS: '1' },
      undefined,
      { deps: { clock } },
    );
  });
  afterAll(async () => {
    await t.close();
    await r.close();
  });

  const message = (id: string) => ({
    key: { remoteJid: '15550001111@s.whatsapp.net', id },
    messageTimestamp: 1_764_000_000,
    message: { conversation: id },
  });
  const deliveryEvents = async () =>
    (
      await t.db.store.db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .select('e.payload')
        .execute()
    )
      .map((x) => (JSON.parse(x.payload) as { id: string }).id)
      .sort();

  it('deletes deliveries that ended before the retention, keeps the newer ones', async () => {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/webhooks',
          headers: a.auth,
          payload: { url: r.url, events: ['message.received'] },
        })
      ).statusCode,
    ).toBe(201);
    await ingestMessage(t, a.auth, 'shop', message('OLD-1'));
    await r.waitFor((rs) => rs.length === 1);
    await expect.poll(() => unsettledDeliveries(t.db.store.db)).toBe(0);
    expect(await deliveryEvents()).toEqual(['OLD-1']);

    // Past the retention and the prune interval: the next claim round prunes.
    offset = 2 * HOUR;
    await ingestMessage(t, a.auth, 'shop', message('NEW-1'));
    await r.waitFor((rs) => rs.length === 2);
    await expect.poll(deliveryEvents).toEqual(['NEW-1']);
  });
});
