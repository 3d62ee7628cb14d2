import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from 'node:https';
import { buildTestApp, type TestApp } from '../support/app.js';
import { eventually, FAST_SESSIONS, FakeWhatsApp } from '../support/fake-whatsapp.js';
import type { SocketFactory } from '../../src/whatsapp/socket-factory.js';

const installed = async (name: string) =>
  import(name).then(
    () => true,
    () => false,
  );

// The proxy agent packages are optional: with them, the session's socket gets its agent; without,
// the session stops with FAILED and the log names the package to install.
describe('per-session proxy', () => {
  let t: TestApp;
  const wa = new FakeWhatsApp();
  const agents = new Map<string, Agent | undefined>();
  const factory: SocketFactory = (opts) => {
    agents.set(opts.session.name, opts.agent);
    return wa.factory(opts);
  };

  beforeAll(async () => {
    t = await buildTestApp('sqlite', FAST_SESSIONS, undefined, { deps: { socketFactory: factory } });
  });
  afterAll(() => t.close());

  it.each([
    ['socks5://user:pass@127.0.0.1:1080', 'socks-proxy-agent'],
    ['http://127.0.0.1:3128', 'https-proxy-agent'],
  ])('%s goes through %s', async (proxy, pkg) => {
    const { auth } = await t.newAccount();
    const name = pkg.split('-')[0]!;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name, proxy, start: true },
    });
    expect(res.statusCode).toBe(201);
    if (await installed(pkg)) {
      await eventually(() => agents.has(name), 'the socket');
      expect(agents.get(name)).toBeDefined();
      expect(JSON.stringify((agents.get(name) as unknown as { proxy: unknown }).proxy)).toContain('127.0.0.1');
    } else {
      await eventually(
        async () =>
          (await t.app.inject({ url: `/api/sessions/${name}`, headers: auth })).json().data.statusReason === 'FAILED',
        'FAILED',
      );
      expect(agents.has(name)).toBe(false);
      expect(t.logs.text()).toContain(`npm install ${pkg}`);
    }
  });

  it('a session without a proxy connects directly', async () => {
    const { auth } = await t.newAccount();
    await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'direct', start: true },
    });
    await eventually(() => agents.has('direct'), 'the socket');
    expect(agents.get('direct')).toBeUndefined();
  });
});
