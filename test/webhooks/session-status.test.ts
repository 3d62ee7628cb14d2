import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { findSessionByName } from '../../src/store/repositories/sessions.js';
import { createEventListeners } from '../../src/webhooks/listeners.js';
import { createOutbox } from '../../src/webhooks/outbox.js';
import { createStatusRecorder } from '../../src/whatsapp/session-status.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

/**
 * session.status through the SessionStatusListener seam: the status recorder the session
 * manager uses, with the outbox's listener, on the app's database; the app delivers.
 */
describe('session.status events', () => {
  let t: TestApp;
  let r: Receiver;

  beforeAll(async () => {
    r = await startReceiver();
    t = await buildTestApp('sqlite', FAST_WEBHOOKS);
  });
  afterAll(async () => {
    await t.close();
    await r.close();
  });

  it('are written with each status change and delivered; a rolled-back change sends nothing', async () => {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'phone' } });
    await t.app.inject({ method: 'POST', url: '/api/webhooks', headers: a.auth, payload: { url: r.url, events: ['session.status'] } });
    const row = (await findSessionByName(t.db.store.db, a.accountId, 'phone'))!;
    const session = { id: row.id, accountId: a.accountId, name: 'phone' };
    const listeners = createEventListeners({ outbox: createOutbox({ clock: systemClock }), clock: systemClock, enqueuePersist: () => Promise.resolve(), notify: () => undefined });
    const record = createStatusRecorder({ db: t.db.store.db, clock: systemClock, listeners: [listeners.onSessionStatus] });

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
    await new Promise((res) => setTimeout(res, 200));
    // Deliveries run concurrently, so arrival order is not guaranteed (previousStatus tells).
    const got = r.received.map((x) => [x.body.event, x.body.session, x.body.payload.status, x.body.payload.previousStatus]);
    expect(got.sort()).toEqual([
      ['session.status', 'phone', 'CONNECTED', 'CONNECTING'],
      ['session.status', 'phone', 'CONNECTING', 'DISCONNECTED'],
    ]);
  });
});
