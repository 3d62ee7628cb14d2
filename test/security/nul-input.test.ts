import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { proto } from '@whiskeysockets/baileys';
import { systemClock } from '../../src/clock.js';
import { createSecretBox } from '../../src/crypto/secret-box.js';
import { generateMediaKey } from '../../src/media/encrypt-stream.js';
import { createIngest } from '../../src/whatsapp/ingest.js';
import { buildTestApp, SECRET_KEY, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// PostgreSQL text cannot hold U+0000: without care, a NUL anywhere in a request is a 500 there.
describe.each(DIALECTS)('NUL characters (%s)', (dialect) => {
  let t: TestApp;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await buildTestApp(dialect, { SIMULATOR_ENABLED: 'true' });
    auth = (await t.newAccount()).auth;
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'demo' } });
  });
  afterAll(() => t.close());

  it.each([
    ['a webhook label', '/api/webhooks', { url: 'https://93.184.215.14/hook', label: 'a\u0000b' }],
    ['a key label', '/api/account/keys', { label: 'a\u0000b', scopes: ['*'] }],
    ['a session config key', '/api/sessions', { name: 'cfg', config: { 'k\u0000': 1 } }],
    [
      'a simulated message',
      '/api/sessions/demo/simulate/message',
      { key: { remoteJid: '1@s.whatsapp.net', id: 'A\u0000B' }, message: { conversation: 'x' } },
    ],
  ])('in %s is a 400, not a 500', async (_what, url, payload) => {
    const res = await t.app.inject({ method: 'POST', url, headers: auth, payload });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('in a live message: ingest keeps the message, without the NULs', async () => {
    const box = createSecretBox(SECRET_KEY);
    const ingest = createIngest({ db: t.db.store.db, clock: systemClock, secretBox: box });
    const session = await t.db.store.db
      .selectFrom('sessions')
      .select(['id', 'account_id', 'name'])
      .where('name', '=', 'demo')
      .executeTakeFirstOrThrow();
    const message = {
      key: { remoteJid: '1555\u0000@s.whatsapp.net', fromMe: false, id: 'LIVE\u0000NUL' },
      messageTimestamp: 1_764_000_000,
      message: {
        documentMessage: {
          url: 'https://mmg.whatsapp.net/x',
          mimetype: 'text/plain\u0000',
          fileName: 'a\u0000.pdf',
          caption: 'c\u0000',
          mediaKey: generateMediaKey(),
        },
      },
    } as unknown as proto.IWebMessageInfo;
    const r = await ingest({ id: session.id, accountId: session.account_id, name: session.name }, message);
    expect(r.mediaId).toBeTruthy();
    const row = await t.db.store.db
      .selectFrom('media')
      .selectAll()
      .where('id', '=', r.mediaId!)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      message_id: 'LIVENUL',
      file_name: 'a.pdf',
      caption: 'c',
      mime_type: 'application/octet-stream',
      declared_mime_type: 'text/plain',
      remote_jid: '1555@s.whatsapp.net',
    });
  });
});
