import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { findSessionByName } from '../../src/store/repositories/sessions.js';
import { createEventListeners } from '../../src/webhooks/listeners.js';
import { createOutbox } from '../../src/webhooks/outbox.js';
import { createStatusRecorder } from '../../src/whatsapp/session-status.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { FAST_SESSIONS, FakeWhatsApp, waMessage } from '../support/fake-whatsapp.js';
import { FAST_WEBHOOKS, startReceiver, unsettledDeliveries, type Receiver } from '../support/webhooks.js';

/**
 * session.status through the SessionStatusListener seam: the status recorder the session
 * manager uses, with the outbox's listener, on the app's database; the app delivers.
 */
describe.each(DIALECTS)('session.status events (%s)', (dialect) => {
  let t: TestApp;
  let r: Receiver;

  beforeAll(async () => {
    r = await startReceiver();
    t = await buildTestApp(dialect, FAST_WEBHOOKS);
  });
  afterAll(async () => {
    await t.close();
    await r.close();
  });

  it('are written with each status change and delivered; a rolled-back change sends nothing', async () => {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'phone' } });
    await t.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: a.auth,
      payload: { url: r.url, events: ['session.status'] },
    });
    const row = (await findSessionByName(t.db.store.db, a.accountId, 'phone'))!;
    const session = { id: row.id, accountId: a.accountId, name: 'phone' };
    const listeners = createEventListeners({
      outbox: createOutbox({ clock: systemClock }),
      clock: systemClock,
      enqueuePersist: () => Promise.resolve(),
      notify: () => undefined,
    });
    const record = createStatusRecorder({
      db: t.db.store.db,
      clock: systemClock,
      listeners: [listeners.onSessionStatus],
    });

    await record(session, 'CONNECTING', null);
    await record(session, 'CONNECTED', null);
    await record(session, 'CONNECTED', null); // no change, no event
    const failing = createStatusRecorder({
      db: t.db.store.db,
      clock: systemClock,
      listeners: [listeners.onSessionStatus, () => Promise.reject(new Error('boom'))],
    });
    await expect(failing(session, 'DISCONNECTED', 'logged out')).rejects.toThrow('boom');

    await r.waitFor((rs) => rs.length === 2);
    // Every delivery written was sent: a third event (from the unchanged or the failed one) would show here.
    await expect.poll(() => unsettledDeliveries(t.db.store.db)).toBe(0);
    // Deliveries run concurrently, so arrival order is not guaranteed (previousStatus tells).
    const got = r.received.map((x) => [
      x.body.event,
      x.body.session,
      x.body.payload.status,
      x.body.payload.previousStatus,
    ]);
    expect(got.sort()).toEqual([
      ['session.status', 'phone', 'CONNECTED', 'CONNECTING'],
      ['session.status', 'phone', 'CONNECTING', 'DISCONNECTED'],
    ]);
  });
});

describe.each(DIALECTS)('session.status and message.received from a live (fake) WhatsApp session (%s)', (dialect) => {
  it('the session manager feeds the outbox: pairing and a received message arrive as webhooks', async () => {
    const r = await startReceiver();
    const wa = new FakeWhatsApp();
    const t = await buildTestApp(dialect, { ...FAST_SESSIONS, ...FAST_WEBHOOKS }, undefined, {
      deps: { socketFactory: wa.factory },
    });
    try {
      const { auth } = await t.newAccount();
      await t.app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: auth,
        payload: { url: r.url, session: 'live' },
      });
      expect(
        (
          await t.app.inject({
            method: 'POST',
            url: '/api/sessions',
            headers: auth,
            payload: { name: 'live', start: true },
          })
        ).statusCode,
      ).toBe(201);
      await r.waitFor((rs) => rs.some((x) => x.body.payload.status === 'CONNECTING'));
      wa.latest('live').pair();
      await r.waitFor((rs) => rs.some((x) => x.body.payload.status === 'CONNECTED'));
      wa.latest('live').upsert([
        waMessage({
          key: { remoteJid: '15550002222@s.whatsapp.net', fromMe: false, id: 'LIVE-1' },
          messageTimestamp: 1_764_000_000,
          message: { conversation: 'from a phone' },
        }),
      ]);
      await r.waitFor((rs) => rs.some((x) => x.body.event === 'message.received'));
      const msg = r.events('message.received')[0]!;
      expect(msg).toMatchObject({
        session: 'live',
        payload: { id: 'LIVE-1', text: 'from a phone', type: 'text', timestamp: 1_764_000_000 },
      });
      expect(r.events('session.status').every((e) => e.session === 'live')).toBe(true);
    } finally {
      await t.close();
      await r.close();
    }
  });
});
