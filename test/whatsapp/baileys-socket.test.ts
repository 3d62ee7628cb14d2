import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { eventually, FAST_SESSIONS } from '../support/fake-whatsapp.js';

// The real socket factory (no fake injected): Baileys connects to a local endpoint that refuses
// the WebSocket upgrade with 403, which Baileys reports as DisconnectReason.forbidden.
describe('the real Baileys socket factory', () => {
  let refuser: Server;
  let upgrades = 0;
  let t: TestApp;

  beforeAll(async () => {
    refuser = createServer((_req, res) => res.writeHead(403).end());
    refuser.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    const { port } = refuser.address() as AddressInfo;
    t = await buildTestApp('sqlite', { ...FAST_SESSIONS, WA_WEBSOCKET_URL: `ws://127.0.0.1:${port}/ws/chat` });
  });
  afterAll(async () => {
    await t.close();
    refuser.closeAllConnections();
    await new Promise((resolve) => refuser.close(resolve));
  });

  it('connects to WA_WEBSOCKET_URL and, refused, ends DISCONNECTED/FAILED without crashing', async () => {
    const { auth } = await t.newAccount();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: auth,
      payload: { name: 'real', start: true },
    });
    expect(res.statusCode).toBe(201);
    const session = await eventually(
      async () => {
        const s = await t.db.store.db
          .selectFrom('sessions')
          .selectAll()
          .where('name', '=', 'real')
          .executeTakeFirstOrThrow();
        return s.status === 'DISCONNECTED' && s;
      },
      'the refused session to stop',
      15_000,
    );
    expect(session.status_reason).toBe('FAILED');
    expect(upgrades).toBe(1);
    // The server still answers.
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
