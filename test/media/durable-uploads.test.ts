import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, getObject, pendingUploads, serverS3Env, testS3Client } from '../support/s3.js';
import { waitForOutput } from '../support/server-process.js';
import { newTenant, startTitan, until, type TitanProcess } from '../support/titan-process.js';

const PART = 5 * 1024 * 1024;
const LEASE_MS = 1500;
const SWEEP_MS = 500;

/**
 * Real server processes, killed or stopped mid-persist, against the real S3 gateway: nothing
 * may stay open in the bucket beyond the lease plus one sweep, and the media can be persisted
 * again afterwards.
 */
describe.each(DIALECTS)('durable uploads (%s)', (dialect) => {
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let db: TestDb;
  let env: Record<string, string>;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    db = await createTestDb(dialect);
    env = {
      ...serverS3Env(bucket),
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      S3_PART_SIZE_BYTES: String(PART),
      S3_QUEUE_SIZE: '2',
      UPLOAD_LEASE_MS: String(LEASE_MS),
      UPLOAD_SWEEP_INTERVAL_MS: String(SWEEP_MS),
      SHUTDOWN_TIMEOUT_MS: '10000',
      RATE_LIMIT_MAX: '100000',
    };
  });
  afterAll(async () => {
    await cdn.close();
    await db.destroy();
    s3.destroy();
  });

  /** A 30 MB media whose first CDN read is throttled, so a persist is still running when we strike. */
  async function slowMedia(p: TitanProcess, key: string) {
    const m = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(6 * PART) });
    cdn.misbehave(m.path, { times: 1, slowBytesPerSec: 6 * 1024 * 1024 });
    const res = await p.call('POST', '/api/sessions/shop/simulate/message', { auth: key, body: m.message });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { ...m, mediaId: res.body.data.mediaId as string };
  }

  it('kill -9 mid-persist: after the lease and one sweep nothing is left open; the media is unpersisted and persists again with equal bytes', async () => {
    const first = await startTitan(db, env);
    const key = await newTenant(first);
    const m = await slowMedia(first, key);
    const persisting = first
      .call('POST', `/api/sessions/shop/media/${m.mediaId}/persist`, { auth: key })
      .catch((err: unknown) => err);
    // Strike once parts are on their way.
    await until(
      async () => ((await pendingUploads(s3, bucket)).length > 0 ? true : undefined),
      20_000,
      'a multipart upload to start',
    );
    first.kill('SIGKILL');
    await first.exited;
    expect(await persisting).toBeInstanceOf(Error);
    expect(await pendingUploads(s3, bucket)).toHaveLength(1);

    const killedAt = Date.now();
    const second = await startTitan(db, env, first.cwd);
    const readyAt = Date.now();
    try {
      await until(
        async () => ((await pendingUploads(s3, bucket)).length === 0 ? true : undefined),
        LEASE_MS + SWEEP_MS + 10_000,
        'the sweeper to abort the upload',
      );
      const cleanMs = Date.now() - killedAt;
      // Within the lease plus a sweep of the restarted server (whose start a busy machine slows).
      expect(Date.now() - readyAt).toBeLessThan(LEASE_MS + SWEEP_MS + 5_000);
      // The log line may reach stdout a little after the abort itself.
      await waitForOutput(second, (out) => out.includes('aborted an upload left open by its owner'), 5_000);
      const meta = await second.call('GET', `/api/sessions/shop/media/${m.mediaId}`, { auth: key });
      expect(meta.body.data).toMatchObject({ persisted: false, s3Url: null });
      const again = await second.call('POST', `/api/sessions/shop/media/${m.mediaId}/persist`, { auth: key });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      const obj = await getObject(s3, bucket, again.body.data.key);
      expect(sha256(obj.bytes)).toBe(sha256(m.plaintext));
      expect(await pendingUploads(s3, bucket)).toEqual([]);
      process.stdout.write(
        `[durable-uploads ${dialect}] kill -9: open upload gone ${cleanMs} ms after the kill (restart included)\n`,
      );
    } finally {
      second.kill();
      await second.exited;
    }
  });

  it('SIGTERM mid-persist: the upload is aborted at once, the caller gets SHUTTING_DOWN, the process exits 0', async () => {
    const p = await startTitan(db, env);
    const key = await newTenant(p);
    const m = await slowMedia(p, key);
    const persisting = p.call('POST', `/api/sessions/shop/media/${m.mediaId}/persist`, { auth: key });
    await until(
      async () => ((await pendingUploads(s3, bucket)).length > 0 ? true : undefined),
      20_000,
      'a multipart upload to start',
    );
    const t0 = Date.now();
    p.kill('SIGTERM');
    const res = await persisting;
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('SHUTTING_DOWN');
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(await p.exited, p.stdout().slice(-3000)).toBe(0);
    const exitMs = Date.now() - t0;
    // Aborted, not waited for: well under the 10 s grace.
    expect(exitMs).toBeLessThan(5_000);
    expect(await pendingUploads(s3, bucket)).toEqual([]);
    const rows = await db.store.db.selectFrom('uploads').selectAll().where('media_id', '=', m.mediaId).execute();
    expect(rows).toEqual([]);
    process.stdout.write(`[durable-uploads ${dialect}] SIGTERM: exit 0 after ${exitMs} ms, nothing left\n`);
  });
});
