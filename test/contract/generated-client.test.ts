import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createBucket, s3Endpoint, testS3Client } from '../support/s3.js';
import { FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const CLIENT = join(ROOT, 'test/contract/client');

// `format: binary` as Blob, the way openapi-typescript's docs suggest for file bodies.
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier('Blob'));

describe('a client generated from /docs/openapi.json (openapi-typescript + openapi-fetch)', () => {
  let t: TestApp;
  let receiver: Receiver;
  let baseUrl: string;
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true', ...FAST_WEBHOOKS });
    baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  it('type-checks with tsc and runs the whole walk-through against the live server', async () => {
    const doc: unknown = await (await fetch(`${baseUrl}/docs/openapi.json`)).json();
    const ast = await openapiTS(doc as Parameters<typeof openapiTS>[0], {
      transform: (s) => (s.format === 'binary' ? BLOB : undefined),
    });
    mkdirSync(join(CLIENT, 'generated'), { recursive: true });
    writeFileSync(join(CLIENT, 'generated/titan-api.d.ts'), astToString(ast));
    // Type errors fail here, with tsc's own report.
    await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(CLIENT, 'tsconfig.json')], { cwd: ROOT }).catch(
      (err: { stdout?: string; message: string }) => {
        throw new Error(`tsc rejected the walk-through:\n${err.stdout ?? err.message}`);
      },
    );

    const { accountId } = await t.newAccount();
    const { key } = await t.newKey(accountId, ['*']);
    const bucket = await createBucket(testS3Client(), 'titan-contract');
    const e = s3Endpoint();
    const photo = readFileSync(join(ROOT, 'docs/sample.jpg'));
    // Loaded at run time: the module's types exist only once the client has been generated.
    const { walkthrough } = (await import(pathToFileURL(join(CLIENT, 'walkthrough.ts')).href)) as {
      walkthrough: (env: unknown) => Promise<string[]>;
    };
    const steps = await walkthrough({
      baseUrl,
      key,
      photo,
      s3: {
        endpoint: e.endpoint,
        region: e.region,
        bucket,
        accessKeyId: e.accessKeyId,
        secretAccessKey: e.secretAccessKey,
      },
      receiverUrl: receiver.url,
      async delivery(eventId: string) {
        await receiver.waitFor((r) => r.some((x) => x.body.id === eventId));
        const r = receiver.received.find((x) => x.body.id === eventId)!;
        return { raw: r.raw, signature: r.headers['x-webhook-signature'] as string | undefined };
      },
    });
    expect(steps).toEqual([
      'session demo 201',
      'simulated 201',
      `media image image/jpeg ${photo.length} persisted=false`,
      'download 200 image/jpeg sha256=true',
      `range 206 bytes 0-9/${photo.length} same=true`,
      'settings storage=account',
      `persist bucket=true size=${photo.length} sha256=true`,
      'webhook 202 signature=true',
      expect.stringMatching(/^deliveries .*webhook\.test/),
    ]);
  });
});
