import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, routeProcessWarnings } from '../../src/logger.js';
import { buildTestApp, type TestApp } from '../support/app.js';

describe('request lines', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { LOG_LEVEL: 'info' });
    a = await t.newAccount();
  });
  afterAll(() => t.close());

  const linesOf = (reqId: string) => t.logs.lines.filter((l) => l.reqId === reqId);

  it('an error answer gives exactly one line: code, route pattern, the account once', async () => {
    const res = await t.app.inject({ url: '/api/sessions/nope', headers: a.auth });
    expect(res.statusCode).toBe(404);
    const reqId = res.headers['x-request-id'] as string;
    await expect.poll(() => linesOf(reqId).length).toBe(1);
    expect(linesOf(reqId)[0]).toMatchObject({
      msg: 'request',
      level: 30,
      method: 'GET',
      url: '/api/sessions/nope',
      route: '/api/sessions/:session',
      statusCode: 404,
      code: 'SESSION_NOT_FOUND',
      accountId: a.accountId,
    });
    expect(linesOf(reqId)[0]!.clientGone).toBeUndefined();
    // Counted by code too.
    const m = await t.app.inject('/metrics');
    expect(m.body).toMatch(/^titan_http_errors_total\{code="SESSION_NOT_FOUND"\} 1$/m);
  });

  it('an unknown route: one line, no route pattern, ROUTE_NOT_FOUND', async () => {
    const res = await t.app.inject({ url: '/nothing/here' });
    await expect
      .poll(() => linesOf(res.headers['x-request-id'] as string))
      .toEqual([expect.objectContaining({ route: null, statusCode: 404, code: 'ROUTE_NOT_FOUND' })]);
  });

  it('scrapes, probes and the API reference are logged at debug, so not at info', async () => {
    const quiet = await Promise.all(
      ['/metrics', '/healthz', '/readyz', '/docs/openapi.json'].map((url) => t.app.inject({ url })),
    );
    const loud = await t.app.inject({ url: '/api/account', headers: a.auth });
    expect(quiet.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    await expect.poll(() => linesOf(loud.headers['x-request-id'] as string).length).toBe(1);
    for (const r of quiet) expect(linesOf(r.headers['x-request-id'] as string)).toEqual([]);
  });
});

describe('what the logger writes', () => {
  function capture() {
    let out = '';
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        out += c.toString();
        cb();
      },
    });
    return {
      logger: createLogger('info', { pretty: false, destination: sink }),
      lines: () =>
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  it('keeps object keys, redacts secrets, also inside strings (API keys, presigned URLs, URL credentials)', () => {
    const { logger, lines } = capture();
    const apiKey = `titan_${'A'.repeat(43)}`;
    logger.info(
      {
        key: 'wa/shop/2026/12/01/abc.jpg',
        secretAccessKey: 'S3-SECRET',
        authorization: `Bearer ${apiKey}`,
        err: new Error(
          `fetch https://bob:hunter2@proxy.example:8080 then https://s3/x?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2Fx with ${apiKey}`,
        ),
      },
      'x',
    );
    const [line] = lines();
    expect(line).toMatchObject({
      key: 'wa/shop/2026/12/01/abc.jpg',
      secretAccessKey: '[redacted]',
      authorization: '[redacted]',
    });
    const text = JSON.stringify(line);
    for (const secret of ['S3-SECRET', 'hunter2', 'bob:', 'deadbeef', 'AKIA', apiKey])
      expect(text).not.toContain(secret);
    expect(text).toContain('proxy.example:8080');
    expect(text).toContain('X-Amz-Signature=[redacted]');
  });

  it('turns a process warning into one JSON line', async () => {
    const { logger, lines } = capture();
    const saved = process.listeners('warning');
    try {
      routeProcessWarnings(logger);
      process.emitWarning('The AWS SDK for JavaScript (v3)\nwill require a newer Node.js', {
        type: 'NodeVersionSupportWarning',
        code: 'X_TEST',
      });
      await expect.poll(() => lines().length).toBe(1);
      expect(lines()[0]).toMatchObject({
        level: 40,
        msg: 'process warning',
        warning: { name: 'NodeVersionSupportWarning', code: 'X_TEST' },
      });
    } finally {
      process.removeAllListeners('warning');
      for (const l of saved) process.on('warning', l);
    }
  });
});
