import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { scrapeMetrics } from '../support/metrics.js';
import { createBucket, listKeys, pendingUploads, settingsBody, testS3Client } from '../support/s3.js';
import { FAST_WEBHOOKS, startReceiver, unsettledDeliveries, type Receiver } from '../support/webhooks.js';

describe.each(DIALECTS)('auto-persist and its events (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let r: Receiver;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-auto');
    r = await startReceiver();
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      CDN_MAX_RETRIES: '0',
      AUTO_PERSIST_ATTEMPTS: '2',
      AUTO_PERSIST_RETRY_DELAY_MS: '50',
      ...FAST_WEBHOOKS,
    });
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    await r.close();
    s3.destroy();
  });

  async function account(settings: Record<string, unknown>, verify = true) {
    const a = await t.newAccount();
    await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
    const put = await t.app.inject({
      method: 'PUT',
      url: `/api/account/settings?verify=${verify}`,
      headers: a.auth,
      payload: settings,
    });
    expect(put.statusCode, put.body).toBe(200);
    const hook = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks',
      headers: a.auth,
      payload: { url: `${r.url}?account=${a.accountId}` },
    });
    expect(hook.statusCode, hook.body).toBe(201);
    const mine = (event: string) =>
      r.received.filter((x) => x.path.endsWith(a.accountId) && x.body.event === event).map((x) => x.body);
    return { ...a, mine };
  }
  const runs = async () => {
    const m = await scrapeMetrics(t.app);
    const get = (series: string) => {
      const v = m.get(series);
      if (v === undefined) throw new Error(`/metrics has no ${series}`);
      return v;
    };
    return {
      stored: get('titan_auto_persist_runs_total{outcome="stored"}'),
      retry: get('titan_auto_persist_runs_total{outcome="retry"}'),
      gave_up: get('titan_auto_persist_runs_total{outcome="gave_up"}'),
      pending: get('titan_auto_persist_jobs{state="pending"}'),
      failed: get('titan_auto_persist_jobs{state="failed"}'),
    };
  };
  const mediaObject = async (auth: { authorization: string }, id: string) =>
    (await t.app.inject({ url: `/api/sessions/shop/media/${id}`, headers: auth })).json<{
      data: { persisted: boolean };
    }>().data;

  it('on: message.received waits for the job and carries a mediaUrl whose bytes are the file; media.persisted too', async () => {
    const a = await account({ ...settingsBody(bucket), autoPersist: true });
    const plaintext = plaintextOf(400_000);
    const p = await publishMedia(cdn, { type: 'video', plaintext });
    // A slow CDN keeps the job running for a while: meanwhile nothing is announced or claimed.
    cdn.misbehave(p.path, { slowBytesPerSec: 800_000, times: 1 });
    const before = await runs();
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    // The job was claimed and is running (the slow CDN holds it there).
    await expect
      .poll(
        async () =>
          (
            await t.db.store.db
              .selectFrom('persist_jobs')
              .select('claims')
              .where('media_id', '=', mediaId!)
              .executeTakeFirst()
          )?.claims,
      )
      .toBe(1);
    expect((await mediaObject(a.auth, mediaId!)).persisted).toBe(false);
    expect(a.mine('message.received')).toEqual([]);
    expect(await runs()).toEqual({ ...before, pending: before.pending + 1 });
    // The job waits: the backlog has an age.
    expect((await scrapeMetrics(t.app)).get('titan_auto_persist_backlog_age_seconds')).toBeGreaterThan(0);

    await r.waitFor(() => a.mine('message.received').length === 1 && a.mine('media.persisted').length === 1);
    // Announced only once the record says so.
    expect((await mediaObject(a.auth, mediaId!)).persisted).toBe(true);
    const [msg] = a.mine('message.received');
    expect(msg!.payload).toMatchObject({ mediaId, type: 'video', mediaUrl: expect.any(String) });
    expect(msg!.payload).not.toHaveProperty('persistError');
    const bytes = Buffer.from(await (await fetch(msg!.payload.mediaUrl as string)).arrayBuffer());
    expect(sha256(bytes)).toBe(sha256(plaintext));
    const [persisted] = a.mine('media.persisted');
    expect(persisted!.payload).toMatchObject({
      mediaId,
      trigger: 'auto',
      bucket,
      size: plaintext.length,
      sha256: sha256(plaintext),
      mediaUrl: expect.any(String),
    });
    expect((await listKeys(s3, bucket)).filter((k) => k.includes(mediaId!))).toHaveLength(1);
    const job = await t.db.store.db
      .selectFrom('persist_jobs')
      .selectAll()
      .where('media_id', '=', mediaId!)
      .executeTakeFirstOrThrow();
    expect(job).toMatchObject({ state: 'done', lease_owner: null });
    // One transfer line, naming the job.
    const lines = t.logs.lines.filter((l) => l.msg === 'transfer' && l.mediaId === mediaId);
    expect(lines).toEqual([
      expect.objectContaining({
        transfer: 'auto-persist',
        outcome: 'completed',
        jobId: job.id,
        bytesOut: plaintext.length,
        bytesIn: p.encrypted.length,
      }),
    ]);
    await expect.poll(runs).toEqual({ ...before, stored: before.stored + 1 });

    // Text messages need no job and go out at once.
    await ingestMessage(t, a.auth, 'shop', {
      key: { remoteJid: '1@s.whatsapp.net', id: 'AUTO-TEXT-1' },
      message: { conversation: 'hi' },
    });
    await r.waitFor(() => a.mine('message.received').some((b) => b.payload.id === 'AUTO-TEXT-1'));
  });

  it('on, with a failing bucket: message.received carries persistError after the retries; one media.persist_failed', async () => {
    const a = await account({ ...settingsBody('titan-no-such-bucket-here'), autoPersist: true }, false);
    const p = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(20_000) });
    const before = await runs();
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    await r.waitFor(() => a.mine('message.received').length === 1 && a.mine('media.persist_failed').length === 1);
    const [msg] = a.mine('message.received');
    expect(msg!.payload).toMatchObject({
      mediaId,
      persistError: { code: 'STORAGE_FAILED', message: expect.stringMatching(/NoSuchBucket|404/) },
    });
    expect(msg!.payload).not.toHaveProperty('mediaUrl');
    expect(a.mine('media.persist_failed')[0]!.payload).toMatchObject({
      mediaId,
      trigger: 'auto',
      error: { code: 'STORAGE_FAILED' },
    });
    expect((await mediaObject(a.auth, mediaId!)).persisted).toBe(false);
    const job = await t.db.store.db
      .selectFrom('persist_jobs')
      .selectAll()
      .where('media_id', '=', mediaId!)
      .executeTakeFirstOrThrow();
    expect(job).toMatchObject({ state: 'failed', attempts: 2, last_error_code: 'STORAGE_FAILED' });
    await expect
      .poll(runs)
      .toEqual({ ...before, retry: before.retry + 1, gave_up: before.gave_up + 1, failed: before.failed + 1 });
    // Retries that were not final announced nothing: every delivery written has been sent.
    await expect.poll(() => unsettledDeliveries(t.db.store.db)).toBe(0);
    expect(a.mine('media.persist_failed')).toHaveLength(1);
    expect(await pendingUploads(s3, bucket)).toEqual([]);
  });

  it('off: message.received goes out at once without mediaUrl; a persist on demand sends media.persisted (trigger request)', async () => {
    const a = await account(settingsBody(bucket));
    const p = await publishMedia(cdn, { type: 'document', plaintext: plaintextOf(1234), fileName: 'invoice.pdf' });
    const { mediaId } = await ingestMessage(t, a.auth, 'shop', p.message);
    await r.waitFor(() => a.mine('message.received').length === 1);
    expect(a.mine('message.received')[0]!.payload).toMatchObject({
      mediaId,
      fileName: 'invoice.pdf',
      type: 'document',
    });
    expect(a.mine('message.received')[0]!.payload).not.toHaveProperty('mediaUrl');
    expect(
      await t.db.store.db.selectFrom('persist_jobs').selectAll().where('media_id', '=', mediaId!).execute(),
    ).toEqual([]);

    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sessions/shop/media/${mediaId}/persist`,
      headers: a.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    await r.waitFor(() => a.mine('media.persisted').length === 1);
    expect(a.mine('media.persisted')[0]!.payload).toMatchObject({
      mediaId,
      trigger: 'request',
      key: res.json().data.key,
    });
    // A failed persist on demand is reported as well.
    const broken = await publishMedia(cdn, { type: 'image', plaintext: plaintextOf(100) });
    const { mediaId: brokenId } = await ingestMessage(t, a.auth, 'shop', broken.message);
    cdn.misbehave(broken.path, { status: 410 });
    expect(
      (await t.app.inject({ method: 'POST', url: `/api/sessions/shop/media/${brokenId}/persist`, headers: a.auth }))
        .statusCode,
    ).toBe(410);
    await r.waitFor(() => a.mine('media.persist_failed').length === 1);
    expect(a.mine('media.persist_failed')[0]!.payload).toMatchObject({
      mediaId: brokenId,
      trigger: 'request',
      error: { code: 'MEDIA_EXPIRED' },
    });
  });
});
