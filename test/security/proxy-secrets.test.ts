import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

describe.each(DIALECTS)('proxy credentials (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(dialect);
  });
  afterAll(() => t.close());

  it('are sealed at rest and never returned: every answer shows user:***', async () => {
    const { auth } = await t.newAccount();
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'shop', proxy: 'http://media:pa55-w0rd@proxy.example.com:3128' },
    });
    expect(created.statusCode, created.body).toBe(201);
    await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'plain', proxy: 'socks5://proxy.example.com:1080' },
    });
    const answers = [
      created,
      await t.app.inject({ url: '/api/sessions/shop', headers: auth }),
      await t.app.inject({ url: '/api/sessions', headers: auth }),
      await t.app.inject({ method: 'POST', url: '/api/sessions/shop/stop', headers: auth }),
    ];
    for (const a of answers) expect(a.body).not.toContain('pa55-w0rd');
    expect(created.json<{ data: { proxy: string } }>().data.proxy).toBe('http://media:***@proxy.example.com:3128');
    expect(
      answers[2]!.json<{ data: { name: string; proxy: string }[] }>().data.find((s) => s.name === 'plain')!.proxy,
    ).toBe('socks5://proxy.example.com:1080');
    const rows = await t.db.store.db.selectFrom('sessions').select(['name', 'proxy']).execute();
    for (const r of rows) expect(r.proxy).toMatch(/^v1\./);
    expect(JSON.stringify(rows)).not.toContain('pa55-w0rd');
    expect(t.logs.text()).not.toContain('pa55-w0rd');
  });
});
