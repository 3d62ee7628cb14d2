import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { ingestMessage, plaintextOf, publishMedia } from '../support/media.js';
import { createBucket, settingsBody, testS3Client } from '../support/s3.js';
import { eventually } from '../support/webhooks.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('persist before expiry is fair between accounts (%s)', (dialect) => {
  let t: TestApp;
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-fair');
    // One job at a time.
    t = await buildTestApp(dialect, {
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      AUTO_PERSIST_CONCURRENCY: '1',
      LIFECYCLE_SWEEP_INTERVAL_MS: '200',
      OUTBOX_POLL_INTERVAL_MS: '50',
    });
  });
  afterAll(async () => {
    await t.close();
    await cdn.close();
    s3.destroy();
  });

  it('an account with many expiring media does not hold up another one', async () => {
    // Another "process" holds the sweep while both accounts are set up, so one sweep finds both.
    const sweepClaim = t.db.store.db.updateTable('sweep_claims').where('name', '=', 'media-lifecycle');
    await t.db.store.db
      .insertInto('sweep_claims')
      .values({ name: 'media-lifecycle', owner: 'elsewhere', expires_at: null, last_run_at: null })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    await sweepClaim.set({ owner: 'elsewhere', expires_at: new Date(Date.now() + 3_600_000).toISOString() }).execute();
    const accounts = [];
    for (const n of [8, 2]) {
      const a = await t.newAccount();
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: a.auth, payload: { name: 'shop' } });
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const p = await publishMedia(cdn, {
          type: 'image',
          plaintext: plaintextOf(2000),
          fields: { mediaKeyTimestamp: Math.floor((Date.now() - 13 * DAY) / 1000) },
        });
        ids.push((await ingestMessage(t, a.auth, 'shop', p.message)).mediaId!);
      }
      accounts.push({ ...a, ids });
    }
    for (const a of accounts) {
      const put = await t.app.inject({
        method: 'PUT',
        url: '/api/account/settings',
        headers: a.auth,
        payload: { ...settingsBody(bucket), persistBeforeExpiry: { enabled: true, hoursBefore: 48 } },
      });
      expect(put.statusCode, put.body).toBe(200);
    }
    await sweepClaim.set({ expires_at: null }).execute();
    const all = accounts.flatMap((a) => a.ids.map((id) => ({ id, account: a.accountId })));
    const rows = await eventually(
      async () => {
        const r = await t.db.store.db
          .selectFrom('media')
          .select(['id', 'persisted_at'])
          .where(
            'id',
            'in',
            all.map((m) => m.id),
          )
          .execute();
        return r.every((x) => x.persisted_at) ? r : undefined;
      },
      30_000,
      'every expiring media to be persisted',
    );
    const order = rows
      .sort((x, y) => x.persisted_at!.localeCompare(y.persisted_at!))
      .map((r) => all.find((m) => m.id === r.id)!.account);
    // Turns alternate, so the small account's two media are not stuck behind the big account's
    // eight (queued per account, they would be the last two). Claims racing the sweep's commits
    // may swap neighbours, hence the margin.
    const small = accounts[1]!.accountId;
    expect(order.slice(0, 7).filter((a) => a === small)).toHaveLength(2);
  });
});
