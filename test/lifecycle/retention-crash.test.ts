import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, MASTER_KEY, SECRET_KEY } from '../support/app.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { createBucket, listKeys, s3Endpoint, serverS3Env, testS3Client } from '../support/s3.js';
import { startS3Recorder, type S3Recorder } from '../support/s3-recorder.js';
import { runServer, waitForOutput, type ServerProcess } from '../support/server-process.js';
import { eventually } from '../support/webhooks.js';

const OLD = 40;
const RECENT = 5;

/** What DATABASE_URL a server process needs to open the test's database. */
function databaseUrl(db: TestDb): string {
  const t = db.target;
  return t.kind === 'sqlite'
    ? `sqlite:${t.path}`
    : `${t.url}?options=${encodeURIComponent(`-c search_path=${t.schema}`)}`;
}

/**
 * Retention deletes old objects in batches from a real server process that is killed (SIGKILL)
 * half-way; a new process finishes the job: every old object goes, every recent one stays.
 */
describe.each(DIALECTS)('retention survives kill -9 mid-batch (%s, real processes)', (dialect) => {
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let slow: S3Recorder;
  let db: TestDb;
  const procs: ServerProcess[] = [];

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-ret');
    // The first process reaches the bucket through a slow relay, so it dies with work left.
    slow = await startS3Recorder(s3Endpoint().endpoint, { delayMs: 60 });
    db = await createTestDb(dialect);
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.kill('SIGKILL');
    await cdn.close();
    await slow.close();
    await db.destroy();
    s3.destroy();
  });

  it('deletes every old object and nothing recent, across the crash', async () => {
    const env = {
      MASTER_KEY,
      SECRET_KEY,
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      ...serverS3Env(bucket),
    };
    // Set up in-process on the same database: media persisted, then the old ones dated back.
    const setup = await buildTestApp(dialect, { ...env, LIFECYCLE_SWEEP_INTERVAL_MS: '86400000' }, undefined, {
      shared: db,
    });
    const a = await setup.newAccount();
    await setup.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const keys = new Map<string, string>();
    for (let i = 0; i < OLD + RECENT; i++) {
      const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(2000) });
      const { mediaId } = await ingestMessage(setup, a.auth, 'shop', p.message);
      const res = await setup.app.inject({
        method: 'POST',
        url: `/api/sessions/shop/media/${mediaId}/persist`,
        headers: a.auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      keys.set(mediaId!, res.json<{ data: { key: string } }>().data.key);
    }
    const ids = [...keys.keys()];
    const old = ids.slice(0, OLD);
    const recent = ids.slice(OLD);
    await db.store.db
      .updateTable('media')
      .set({ persisted_at: new Date(Date.now() - 40 * 86_400_000).toISOString() })
      .where('id', 'in', old)
      .execute();
    const put = await setup.app.inject({
      method: 'PUT',
      url: '/api/account/settings?verify=false',
      headers: a.auth,
      payload: { retention: { persistedDays: 30, recordsDays: null } },
    });
    expect(put.statusCode, put.body).toBe(200);
    await setup.close();

    const fast = {
      ...env,
      DATABASE_URL: databaseUrl(db),
      LIFECYCLE_SWEEP_INTERVAL_MS: '100',
      LIFECYCLE_BATCH_SIZE: '5',
      MEDIA_DELETION_CONCURRENCY: '1',
      OUTBOX_POLL_INTERVAL_MS: '50',
      OUTBOX_LEASE_MS: '2000',
      WEBHOOK_TIMEOUT_MS: '1000',
    };
    const start = async (extra: Record<string, string>) => {
      const p = runServer({ ...fast, ...extra });
      procs.push(p);
      await waitForOutput(p, (out) => out.includes('titan-media listening'));
      return p;
    };
    const oldLeft = async () => {
      const present = new Set(await listKeys(s3, bucket));
      return old.filter((id) => present.has(keys.get(id)!)).length;
    };

    const p1 = await start({ S3_ENDPOINT: slow.endpoint });
    await eventually(async () => ((await oldLeft()) <= OLD - 3 ? true : undefined), 20_000, 'the first deletions');
    p1.kill('SIGKILL');
    await p1.exited;
    const leftAtCrash = await oldLeft();
    expect(leftAtCrash).toBeGreaterThan(0);
    expect(leftAtCrash).toBeLessThan(OLD);

    const p2 = await start({});
    try {
      await eventually(async () => ((await oldLeft()) === 0 ? true : undefined), 30_000, 'every old object to go');
      await eventually(
        async () =>
          Number(
            (
              await db.store.db
                .selectFrom('media_deletions')
                .select((eb) => eb.fn.countAll().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          ) === 0
            ? true
            : undefined,
        10_000,
        'the deletion queue to drain',
      );
      const present = new Set(await listKeys(s3, bucket));
      for (const id of recent) expect(present.has(keys.get(id)!)).toBe(true);
      const rows = await db.store.db.selectFrom('media').select(['id', 'persisted_at', 'object_deleted_at']).execute();
      for (const r of rows) {
        if (old.includes(r.id)) expect(r).toMatchObject({ persisted_at: null, object_deleted_at: expect.any(String) });
        else expect(r.persisted_at).not.toBeNull();
      }
    } finally {
      p2.kill('SIGTERM');
      await p2.exited;
    }
  });
});
