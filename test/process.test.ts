import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { runServer, waitForOutput } from './support/server-process.js';

const listening = (out: string) => out.includes('titan-media listening');

describe('the server process', () => {
  it('stops at start with a message naming each bad variable', async () => {
    const p = runServer({ PORT: 'eighty', DATABASE_URL: 'mysql://nope' });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toMatch(/PORT: /);
    expect(p.stderr()).toMatch(/DATABASE_URL: /);
  });

  it('on first start with embedded defaults, creates the database and prints one working key', async () => {
    const p = runServer({});
    try {
      await waitForOutput(p, listening);
      // The key is shown once on stderr, never in the JSON log on stdout.
      const key = /(titan_[A-Za-z0-9_-]{43})/.exec(p.stderr())?.[1];
      expect(key).toBeDefined();
      expect(p.stderr()).toContain(`curl -H "Authorization: Bearer ${key}"`);
      expect(p.stdout()).not.toContain(key);
      // One start line (not Fastify's one per interface), with the real address, the docs and the version.
      const starts = p
        .stdout()
        .split('\n')
        .filter((l) => /listening/i.test(l));
      expect(starts).toHaveLength(1);
      const start = JSON.parse(starts[0]!) as { address: string };
      expect(start).toMatchObject({
        msg: 'titan-media listening',
        address: expect.stringMatching(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/),
        docs: `${start.address}/docs`,
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      });
      const res = await fetch(`${p.baseUrl}/api/account`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: { name: string } }).data.name).toBe('default');
    } finally {
      p.kill();
      await p.exited;
    }
  });

  it('lets an in-flight request finish on SIGTERM, then exits', async () => {
    const p = runServer({ MASTER_KEY: 'process-test-master-key-123', SHUTDOWN_TIMEOUT_MS: '10000' });
    await waitForOutput(p, listening);
    const base = new URL(p.baseUrl);
    const body = JSON.stringify({ name: 'slow-account' });
    // Send the headers and half the body, then SIGTERM, then the rest.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: base.hostname,
          port: base.port,
          method: 'POST',
          path: '/admin/accounts',
          headers: {
            authorization: 'Bearer process-test-master-key-123',
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        p.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(5)), 700);
      }, 300);
    });
    const res = await response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body).data.name).toBe('slow-account');
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toContain('shutting down');
  });
});
