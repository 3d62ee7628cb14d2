import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildS3Client } from '../../src/storage/s3-clients.js';
import type { S3Settings } from '../../src/storage/s3-settings.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, getObject, s3Endpoint, settingsBody, testS3Client } from '../support/s3.js';

// The account saves a secret the storage rejects; only the injected factory knows the real one.
// Every S3 request the server makes (probe, upload, URL, read) thus works only through it.
describe('the S3 client factory in AppDeps', () => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  const built: S3Settings[] = [];

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    const real = s3Endpoint().secretAccessKey;
    t = await buildTestApp(
      'sqlite',
      { SIMULATOR_ENABLED: 'true', MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*' },
      undefined,
      {
        deps: {
          s3ClientFactory: (settings) => {
            built.push(settings);
            return buildS3Client({
              ...settings,
              secretAccessKey: settings.secretAccessKey === 'known-to-the-factory' ? real : settings.secretAccessKey,
            });
          },
        },
      },
    );
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });

  it('makes every client: settings verified, media persisted and read back through it', async () => {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 's' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: settingsBody(bucket, { secretAccessKey: 'known-to-the-factory' }),
    });
    expect(put.statusCode, put.body).toBe(200);

    const p = await publishMedia(cdn, { type: 'document', plaintext: plaintextOf(4000) });
    const { mediaId } = await ingestMessage(t, a.auth, 's', p.message);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/s/media/${mediaId}/persist`,
      headers: a.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    const { key } = res.json<{ data: { key: string } }>().data;
    expect(sha256((await getObject(s3, bucket, key)).bytes)).toBe(sha256(p.plaintext));

    // Served from the bucket now (the CDN copy is gone).
    cdn.misbehave(p.path, { status: 410 });
    const down = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/s/media/${mediaId}/download`,
      headers: a.auth,
    });
    expect(down.statusCode, down.body).toBe(200);
    expect(sha256(down.rawPayload)).toBe(sha256(p.plaintext));
    expect(built.every((s) => s.bucket === bucket && s.secretAccessKey === 'known-to-the-factory')).toBe(true);
    expect(built.length).toBeGreaterThanOrEqual(2);
  });
});
