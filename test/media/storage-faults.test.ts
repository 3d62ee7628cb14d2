import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { startRelay, type Relay } from '../support/freezable-relay.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, getObject, pendingUploads, s3Endpoint, settingsBody, testS3Client } from '../support/s3.js';
import { until } from '../support/titan-process.js';

const PART = 5 * 1024 * 1024;
// Long enough that a busy machine (the gateway shares its cores with the suite) is not taken for a hung one.
const STALL_MS = 2500;
const ATTEMPTS = 2;

const metric = async (t: TestApp, name: string): Promise<number> => {
  const text = (await t.app.inject({ url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
};

describe.each(DIALECTS)('storage faults (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let relay: Relay;
  let bucket: string;
  let a: Awaited<ReturnType<TestApp['newAccount']>>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    const target = new URL(s3Endpoint().endpoint);
    relay = await startRelay({ host: target.hostname, port: Number(target.port) });
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      S3_PART_SIZE_BYTES: String(PART),
      S3_QUEUE_SIZE: '2',
      S3_CONNECT_TIMEOUT_MS: '1000',
      S3_STALL_TIMEOUT_MS: String(STALL_MS),
      S3_MAX_ATTEMPTS: String(ATTEMPTS),
      UPLOAD_LEASE_MS: '1500',
      UPLOAD_SWEEP_INTERVAL_MS: '300',
      CDN_MAX_RETRIES: '1',
    });
    a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    // The account's bucket is reached through the relay, which can hang like a stopped server.
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/account/settings',
      headers: a.auth,
      payload: settingsBody(bucket, { endpoint: relay.endpoint }),
    });
    expect(put.statusCode, put.body).toBe(200);
  });
  afterAll(async () => {
    relay.thaw();
    await t.close();
    await relay.close();
    await cdn.close();
    s3.destroy();
  });

  async function published(size: number, slow = false) {
    const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(size) });
    if (slow) cdn.misbehave(p.path, { times: 1, slowBytesPerSec: 6 * 1024 * 1024 });
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    return { ...p, mediaId: mediaId! };
  }
  const persist = (mediaId: string) =>
    t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${mediaId}/persist`, headers: a.auth });

  it('a storage that hangs mid-persist: a clean 502 STORAGE_FAILED within the deadline, the slot freed, nothing left once it answers again', async () => {
    const m = await published(6 * PART, true);
    const res = persist(m.mediaId);
    await until(
      async () => ((await pendingUploads(s3, bucket)).length > 0 ? true : undefined),
      20_000,
      'a multipart upload to start',
    );
    relay.freeze();
    const frozenAt = Date.now();
    const r = await res;
    const failMs = Date.now() - frozenAt;
    expect(r.statusCode, r.body).toBe(502);
    expect(r.json().code).toBe('STORAGE_FAILED');
    // Every try of the stalled part with its backoff, then the bounded abort attempt (+ slack).
    expect(failMs).toBeLessThan(ATTEMPTS * STALL_MS + STALL_MS + 3_000);
    expect(await metric(t, 'titan_media_transfers_active')).toBe(0);
    // The abort could not be confirmed while hung: the record says so, and the sweeper finishes it.
    expect(await pendingUploads(s3, bucket)).toHaveLength(1);
    relay.thaw();
    const thawedAt = Date.now();
    await until(
      async () => ((await pendingUploads(s3, bucket)).length === 0 ? true : undefined),
      10_000,
      'the sweeper to abort the upload',
    );
    const cleanMs = Date.now() - thawedAt;
    const meta = (await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: a.auth })).json().data;
    expect(meta.persisted).toBe(false);
    // It works again.
    const again = await persist(m.mediaId);
    expect(again.statusCode, again.body).toBe(200);
    expect(sha256(Buffer.from((await getObject(s3, bucket, again.json().data.key)).bytes))).toBe(sha256(m.plaintext));
    process.stdout.write(
      `[storage-faults ${dialect}] hung storage: 502 after ${failMs} ms, upload aborted ${cleanMs} ms after it answered again\n`,
    );
  });

  it('an object deleted behind our back: the media is marked unpersisted, download still works from the CDN, persist stores it again', async () => {
    const m = await published(200_000);
    const first = await persist(m.mediaId);
    expect(first.statusCode, first.body).toBe(200);
    const key = first.json().data.key as string;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const before = await metric(t, 'titan_media_objects_vanished_total');

    const dl = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${m.mediaId}/download`,
      headers: a.auth,
    });
    expect(dl.statusCode).toBe(200);
    expect(sha256(dl.rawPayload)).toBe(sha256(m.plaintext));
    expect(await metric(t, 'titan_media_objects_vanished_total')).toBe(before + 1);
    expect(
      t.logs.lines.some(
        (l) =>
          l.msg === 'a persisted object is gone from the bucket: the media is marked unpersisted' &&
          l.mediaId === m.mediaId,
      ),
    ).toBe(true);
    const meta = (await t.app.inject({ url: `/api/sessions/shop/media/${m.mediaId}`, headers: a.auth })).json().data;
    expect(meta).toMatchObject({ persisted: false, s3Url: null });

    const again = await persist(m.mediaId);
    expect(again.statusCode, again.body).toBe(200);
    expect(sha256((await getObject(s3, bucket, key)).bytes)).toBe(sha256(m.plaintext));

    // A persist that finds its object gone repairs too, and stores it again.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const third = await persist(m.mediaId);
    expect(third.statusCode, third.body).toBe(200);
    expect(sha256((await getObject(s3, bucket, key)).bytes)).toBe(sha256(m.plaintext));
    expect(await metric(t, 'titan_media_objects_vanished_total')).toBe(before + 2);
  });

  it('deleting a session cancels its running persist: 409 TRANSFER_CANCELLED, nothing left in the bucket', async () => {
    const made = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: a.auth,
      payload: { name: 'gone' },
    });
    expect(made.statusCode, made.body).toBe(201);
    const p = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(6 * PART) });
    cdn.misbehave(p.path, { times: 1, slowBytesPerSec: 6 * 1024 * 1024 });
    const { mediaId } = await ingestMessage(t, a.auth, 'gone', p.message);
    const res = t.app.inject({ method: 'POST', url: `/api/sessions/gone/media/${mediaId}/persist`, headers: a.auth });
    await until(
      async () => ((await pendingUploads(s3, bucket)).length > 0 ? true : undefined),
      20_000,
      'a multipart upload to start',
    );
    const del = await t.app.inject({ method: 'DELETE', url: '/api/sessions/gone', headers: a.auth });
    expect(del.statusCode, del.body).toBe(204);
    const r = await res;
    expect(r.statusCode, r.body).toBe(409);
    expect(r.json().code).toBe('TRANSFER_CANCELLED');
    expect(await pendingUploads(s3, bucket)).toEqual([]);
  });
});
