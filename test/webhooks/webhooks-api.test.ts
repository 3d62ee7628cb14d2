import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

// The URL rules as in production: https only, no internal addresses.
describe.each(DIALECTS)('webhook configuration API (%s)', (dialect) => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  const create = (payload: Record<string, unknown>, auth = a.auth) =>
    t.app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload });

  beforeAll(async () => {
    t = await buildTestApp(dialect);
    a = await t.newAccount();
  });
  afterAll(() => t.close());

  it('creates with defaults, shows the HMAC key once, updates, lists and deletes', async () => {
    const res = await create({ url: 'https://93.184.215.14/hooks/titan' });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json().data;
    expect(created).toMatchObject({
      id: expect.stringMatching(/^wh_/),
      url: 'https://93.184.215.14/hooks/titan',
      label: null,
      session: null,
      events: ['*'],
      retries: { attempts: 8, delaySeconds: 30, policy: 'exponential' },
      headers: [],
      enabled: true,
      hmacKey: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const got = (await t.app.inject({ url: `/api/webhooks/${created.id}`, headers: a.auth })).json().data;
    expect(got).not.toHaveProperty('hmacKey');

    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/api/webhooks/${created.id}`,
      headers: a.auth,
      payload: {
        label: 'crm',
        session: 'shop',
        events: ['media.persisted', 'message.received', 'message.received'],
        retries: { attempts: 3, delaySeconds: 1.5, policy: 'constant' },
        hmacKey: 'a-brand-new-key-123456',
      },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json().data).toMatchObject({
      label: 'crm',
      session: 'shop',
      events: ['media.persisted', 'message.received'],
      retries: { attempts: 3, delaySeconds: 1.5, policy: 'constant' },
    });
    expect(patch.body).not.toContain('a-brand-new-key');
    expect((await t.app.inject({ url: '/api/webhooks', headers: a.auth })).json().data).toHaveLength(1);

    expect(
      (await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${created.id}`, headers: a.auth })).statusCode,
    ).toBe(204);
    const gone = await t.app.inject({ url: `/api/webhooks/${created.id}`, headers: a.auth });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe('WEBHOOK_NOT_FOUND');
  });

  it.each([
    ['plain http', 'http://93.184.215.14/hook', /only https/],
    ['loopback', 'https://127.0.0.1/hook', /127\.0\.0\.1 is a loopback address/],
    ['a private network', 'https://10.1.2.3/hook', /private/],
    ['a private network (172.16/12)', 'https://172.20.0.5:8443/hook', /private/],
    ['the metadata service', 'https://169.254.169.254/latest/meta-data', /link-local or metadata/],
    ['IPv6 loopback', 'https://[::1]/hook', /loopback/],
    ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/hook', /loopback/],
    ['IPv6 unique-local', 'https://[fd00:ec2::254]/hook', /private/],
    [
      'a name resolving to loopback',
      'https://localhost:8443/hook',
      /localhost does not resolve to public addresses only/,
    ],
    ['credentials in the URL', 'https://user:pw@93.184.215.14/hook', /credentials/],
    ['not a URL', 'hook me', /not a valid URL/],
    ['port 0', 'https://93.184.215.14:0/hook', /port 0/],
  ])('refuses %s on save (400 WEBHOOK_URL_NOT_ALLOWED)', async (_name, url, reason) => {
    const res = await create({ url });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'WEBHOOK_URL_NOT_ALLOWED', error: expect.stringMatching(reason) });
  });

  it('checks a changed URL on PATCH too', async () => {
    const { id } = (await create({ url: 'https://93.184.215.14/a' })).json().data;
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/webhooks/${id}`,
      headers: a.auth,
      payload: { url: 'https://192.168.1.10/a' },
    });
    expect(res.json().code).toBe('WEBHOOK_URL_NOT_ALLOWED');
    expect((await t.app.inject({ url: `/api/webhooks/${id}`, headers: a.auth })).json().data.url).toBe(
      'https://93.184.215.14/a',
    );
  });

  it.each([
    ['an unknown event', { events: ['message.sent'] }],
    ['an empty event list', { events: [] }],
    ['an unknown retry policy', { retries: { attempts: 3, delaySeconds: 1, policy: 'fibonacci' } }],
    ['zero attempts', { retries: { attempts: 0, delaySeconds: 1, policy: 'constant' } }],
    ['a reserved header', { headers: [{ name: 'X-Webhook-Signature', value: 'forged' }] }],
    ['a header value with a line break', { headers: [{ name: 'X-Token', value: 'a\r\nInjected: yes' }] }],
    ['a short HMAC key', { hmacKey: 'short' }],
    ['a bad session name', { session: '../etc' }],
    ['an unknown field', { secret: 'x' }],
  ])('rejects %s (400 VALIDATION_FAILED)', async (_name, extra) => {
    const res = await create({ url: 'https://93.184.215.14/hook', ...extra });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('VALIDATION_FAILED');
  });

  it('needs the webhooks:manage scope', async () => {
    const k = await t.newKey(a.accountId, ['media:read', 'sessions:manage']);
    expect((await t.app.inject({ url: '/api/webhooks', headers: k.auth })).statusCode).toBe(403);
    expect((await create({ url: 'https://93.184.215.14/hook' }, k.auth)).statusCode).toBe(403);
    const ok = await t.newKey(a.accountId, ['webhooks:manage']);
    expect((await t.app.inject({ url: '/api/webhooks', headers: ok.auth })).statusCode).toBe(200);
  });

  it('404s unknown deliveries', async () => {
    const { id } = (await create({ url: 'https://93.184.215.14/hook' })).json().data;
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/webhooks/${id}/deliveries/dlv_nope/redeliver`,
      headers: a.auth,
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('WEBHOOK_DELIVERY_NOT_FOUND');
  });
});
