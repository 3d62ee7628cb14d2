import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { blockedReason } from '../../src/webhooks/url-guard.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { ingestMessage } from '../support/media.js';
import { buildAppOn, eventually, FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

describe('blocked addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'link-local or metadata'],
    ['64:ff9b::a9fe:a9fe', 'link-local or metadata'],
    ['fe80::1', 'link-local or metadata'],
    ['224.0.0.1', 'multicast or broadcast'],
    ['198.51.100.7', 'reserved'],
  ])('%s is %s', (address, reason) => {
    expect(blockedReason(address)).toBe(reason);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is public',
    (address) => {
      expect(blockedReason(address)).toBeNull();
    },
  );
});

/**
 * A webhook saved while private networks were allowed (another configuration of the same
 * database), then delivered by a server where they are not: the check at delivery refuses the
 * resolved address, and the receiver never sees a request.
 */
describe('the URL rules at delivery time', () => {
  let first: TestApp;
  let second: FastifyInstance;
  let receiver: Receiver;
  let auth: { authorization: string };

  beforeAll(async () => {
    receiver = await startReceiver();
    first = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true', ...FAST_WEBHOOKS });
    const a = await first.newAccount();
    auth = a.auth;
    await first.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name: 'shop' } });
    const port = new URL(receiver.url).port;
    // `localhost` resolves through /etc/hosts to 127.0.0.1: a name that leads to loopback.
    for (const url of [`http://localhost:${port}/by-name`, `http://127.0.0.1:${port}/by-address`]) {
      const res = await first.app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: auth,
        payload: { url, retries: { attempts: 1, delaySeconds: 0, policy: 'constant' } },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    await first.app.close();
    second = await buildAppOn(first.db.reopen(), {
      ...FAST_WEBHOOKS,
      SIMULATOR_ENABLED: 'true',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false',
    });
  });
  afterAll(async () => {
    await second.close();
    await first.db.destroy();
    await receiver.close();
  });

  it('refuses a name that resolves to loopback, and a loopback address, without connecting', async () => {
    await ingestMessage({ app: second } as TestApp, auth, 'shop', {
      key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id: 'RULES-1' },
      messageTimestamp: 1_764_000_000,
      message: { conversation: 'hi' },
    });
    const hooks = (await second.inject({ url: '/api/webhooks', headers: auth })).json<{
      data: { id: string; url: string }[];
    }>().data;
    for (const h of hooks) {
      const [d] = await eventually(
        async () => {
          const ds = (await second.inject({ url: `/api/webhooks/${h.id}/deliveries`, headers: auth })).json<{
            data: { state: string; log: { error: string }[] }[];
          }>().data;
          return ds[0]?.state === 'failed' ? ds : undefined;
        },
        10_000,
        `the delivery to ${h.url} to fail`,
      );
      const expected = h.url.includes('localhost')
        ? /address not allowed: the host resolved to a non-public address/
        : /address not allowed: 127\.0\.0\.1 is a loopback address/;
      expect(d!.log[0]!.error).toMatch(expected);
    }
    expect(receiver.received).toHaveLength(0);
  });
});
