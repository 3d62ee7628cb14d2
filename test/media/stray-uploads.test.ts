import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createTestDb, DIALECTS, type TestDb } from '../support/databases.js';
import { createBucket, pendingUploads, serverS3Env, testS3Client } from '../support/s3.js';
import { until } from '../support/titan-process.js';

/**
 * Multipart uploads under our prefix that no record explains (a crash before the record, a
 * restored database) are counted in a dry run and aborted otherwise, once old enough; anything
 * outside the prefix is never touched.
 */
describe.each(DIALECTS)('stray multipart uploads (%s)', (dialect) => {
  let s3: S3Client;
  let bucket: string;
  let db: TestDb;

  beforeAll(async () => {
    s3 = testS3Client();
    bucket = await createBucket(s3);
    db = await createTestDb(dialect);
  });
  afterAll(async () => {
    await db.destroy();
    s3.destroy();
  });

  const app = (env: Record<string, string>) =>
    buildTestApp(
      dialect,
      {
        ...serverS3Env(bucket),
        S3_KEY_PREFIX: 'wa/',
        UPLOAD_SWEEP_INTERVAL_MS: '200',
        UPLOAD_STRAY_AGE_MS: '1000',
        ...env,
      },
      undefined,
      { shared: db },
    );
  const strayLog = (t: TestApp, msg: string) =>
    t.logs.lines.find((l) => l.msg === msg && l.bucket === bucket) as { found?: number; aborted?: number } | undefined;

  it('a dry run counts them in the log and aborts none; a real sweep aborts them; uploads outside the prefix stay', async () => {
    const ours = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'wa/shop/2026/01/01/lost.mp4' }),
    );
    const foreign = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'someone-else/file.bin' }));
    expect(ours.UploadId && foreign.UploadId).toBeTruthy();
    // Both older than the stray age (1 s), by the bucket's own clock, before any sweep looks.
    await until(
      async () => {
        const { Uploads = [] } = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        const old = Uploads.filter((u) => u.Initiated && Date.now() - u.Initiated.getTime() > 1_100);
        return old.length === 2 ? true : undefined;
      },
      5_000,
      'the uploads to pass the stray age',
    );

    const dry = await app({ UPLOAD_SWEEP_DRY_RUN: 'true' });
    try {
      const line = await until(
        async () => strayLog(dry, 'stray multipart uploads found (dry run: none aborted)'),
        10_000,
        'the dry-run count',
      );
      expect(line).toMatchObject({ found: 1, aborted: 0 });
      expect((await pendingUploads(s3, bucket)).sort()).toEqual([
        'someone-else/file.bin',
        'wa/shop/2026/01/01/lost.mp4',
      ]);
    } finally {
      await dry.close();
    }

    const real = await app({});
    try {
      const line = await until(
        async () => strayLog(real, 'aborted stray multipart uploads'),
        10_000,
        'the stray sweep',
      );
      expect(line).toMatchObject({ found: 1, aborted: 1 });
      expect(await pendingUploads(s3, bucket)).toEqual(['someone-else/file.bin']);
      const metrics = (await real.app.inject({ url: '/metrics' })).body;
      expect(metrics).toMatch(/^titan_uploads_swept_total\{kind="stray"\} 1$/m);
    } finally {
      await real.close();
    }
  });
});
