import type { S3Client } from '@aws-sdk/client-s3';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, getObject, listVersions, serverS3Env, testS3Client } from '../support/s3.js';
import { newTenant, startTitan, type TitanProcess } from '../support/titan-process.js';
import { FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

const PART = 5 * 1024 * 1024;
const CALLERS = 10;

/** Two real server processes on one database share one upload per media. */
describe.each(DIALECTS)('single flight across processes (%s)', (dialect) => {
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let db: TestDb;
  let r: Receiver;
  let procs: TitanProcess[];
  let key: string;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3);
    db = await createTestDb(dialect);
    r = await startReceiver();
    const env = {
      ...serverS3Env(bucket),
      ...FAST_WEBHOOKS,
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      S3_PART_SIZE_BYTES: String(PART),
      S3_QUEUE_SIZE: '2',
      RATE_LIMIT_MAX: '100000',
    };
    procs = await Promise.all([startTitan(db, env), startTitan(db, env)]);
    key = await newTenant(procs[0]!);
    const w = await procs[0]!.call('POST', '/api/webhooks', {
      auth: key,
      body: { url: r.url, events: ['media.persisted'] },
    });
    expect(w.status, JSON.stringify(w.body)).toBe(201);
  });
  afterAll(async () => {
    for (const p of procs ?? []) p.kill();
    await Promise.all((procs ?? []).map((p) => p.exited));
    await r.close();
    await cdn.close();
    await db.destroy();
    s3.destroy();
  });

  it(`${CALLERS} concurrent persists over two processes: one upload, identical answers, one media.persisted`, async () => {
    const m = await publishMedia(cdn, { type: 'video', plaintext: plaintextOf(3 * PART + 777) });
    // Slow enough that every caller arrives while the upload runs.
    cdn.misbehave(m.path, { times: 1, slowBytesPerSec: 8 * 1024 * 1024 });
    const ing = await procs[1]!.call('POST', '/api/sessions/shop/simulate/message', { auth: key, body: m.message });
    expect(ing.status).toBe(201);
    const mediaId = ing.body.data.mediaId as string;

    // Every multipart upload the bucket sees during the run.
    const uploadIds = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const l = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        for (const u of l.Uploads ?? []) uploadIds.add(u.UploadId!);
        await new Promise((res) => setTimeout(res, 30));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: CALLERS }, (_, i) =>
        procs[i % 2]!.call('POST', `/api/sessions/shop/media/${mediaId}/persist`, { auth: key }),
      ),
    );
    watching = false;
    await watcher;

    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    // Presigned URLs carry their signing time; everything else, the URL's path included, is the same.
    const shapes = answers.map((a): Record<string, unknown> => ({
      ...(a.body.data as Record<string, unknown>),
      url: String(a.body.data.url).split('?')[0],
    }));
    for (const s of shapes) expect(s).toEqual(shapes[0]);
    expect(shapes[0]).toMatchObject({ bucket, size: m.plaintext.length, sha256: sha256(m.plaintext) });
    expect(uploadIds.size).toBe(1);
    expect(cdn.requests.filter((q) => q.path === m.path)).toHaveLength(1);
    expect(await listVersions(s3, bucket, String(shapes[0]!.key))).toHaveLength(1);
    expect(sha256((await getObject(s3, bucket, String(shapes[0]!.key))).bytes)).toBe(sha256(m.plaintext));

    // Every answer came after its persist's transaction committed, so the outbox already holds
    // every event there will be; the receiver then gets exactly those.
    const events = await db.store.db
      .selectFrom('webhook_events')
      .select('id')
      .where('event', '=', 'media.persisted')
      .where('media_id', '=', mediaId)
      .execute();
    expect(events).toHaveLength(1);
    await r.waitFor((rs) => rs.some((x) => x.body.event === 'media.persisted'), 10_000);
    expect(r.events('media.persisted').filter((e) => e.payload.mediaId === mediaId)).toHaveLength(1);
    // Both processes answered callers: the waiters on the other one got the owner's result.
    for (const p of procs) {
      const lines = p
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; url?: string; statusCode?: number });
      expect(
        lines.some(
          (l) => l.msg === 'request' && l.url === `/api/sessions/shop/media/${mediaId}/persist` && l.statusCode === 200,
        ),
      ).toBe(true);
    }
  });
});
