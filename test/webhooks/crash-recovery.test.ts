import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, SECRET_KEY } from '../support/app.js';
import { startFakeCdn, type FakeCdn } from '../support/fake-cdn.js';
import { plaintextOf, publishMedia, sha256 } from '../support/media.js';
import { createBucket, listKeys, pendingUploads, serverS3Env, testS3Client } from '../support/s3.js';
import { runServer, waitForOutput, type ServerProcess } from '../support/server-process.js';
import { eventually, FAST_WEBHOOKS, startReceiver, type Receiver } from '../support/webhooks.js';

const PART = 5 * 1024 * 1024;
const TEXTS = 20;
const listening = (out: string) => out.includes('titan-media listening');

/**
 * A real server process is killed (SIGKILL) while events wait in the outbox for a failing
 * receiver and an auto-persist upload is half-way; after a restart every event is delivered,
 * the half-done multipart upload is gone, and the object exists once.
 */
describe('crash recovery of the outbox and auto-persist (real processes)', () => {
  let cdn: FakeCdn;
  let s3: S3Client;
  let bucket: string;
  let r: Receiver;
  const procs: ServerProcess[] = [];

  beforeAll(async () => {
    cdn = await startFakeCdn();
    s3 = testS3Client();
    bucket = await createBucket(s3, 'titan-crash');
    r = await startReceiver();
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.kill('SIGKILL');
    await cdn.close();
    await r.close();
    s3.destroy();
  });

  it('loses no event and leaves exactly one object', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'titan-crash-'));
    const env = {
      ...FAST_WEBHOOKS,
      OUTBOX_LEASE_MS: '3000',
      MASTER_KEY,
      SECRET_KEY,
      SIMULATOR_ENABLED: 'true',
      MEDIA_CDN_ALLOWLIST: 'https://*.whatsapp.net,http://127.0.0.1:*',
      ...serverS3Env(bucket),
      S3_PART_SIZE_BYTES: String(PART),
      S3_QUEUE_SIZE: '1',
    };
    const start = async () => {
      const p = runServer(env, { cwd });
      procs.push(p);
      await waitForOutput(p, listening);
      return p;
    };
    const call = async (p: ServerProcess, method: string, path: string, auth: string, body?: unknown) => {
      const res = await fetch(`${p.baseUrl}${path}`, {
        method,
        headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : null,
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? (JSON.parse(text) as { data: Record<string, unknown> }).data : null;
    };

    // Events are answered 503 until the restart, so they stay in the outbox.
    const answered = new Set<string>();
    r.respond = (x) => (p1Alive ? 503 : (answered.add(x.body.id), 200));
    let p1Alive = true;

    const p1 = await start();
    const admin = `Bearer ${MASTER_KEY}`;
    const account = await call(p1, 'POST', '/admin/accounts', admin, { name: 'crash' });
    const key = `Bearer ${(await call(p1, 'POST', '/admin/keys', admin, { accountId: account!.id, label: 'k', scopes: ['*'] }))!.key as string}`;
    await call(p1, 'POST', '/api/sessions', key, { name: 'shop' });
    await call(p1, 'PUT', '/api/account/settings', key, { autoPersist: true });
    await call(p1, 'POST', '/api/webhooks', key, {
      url: r.url,
      retries: { attempts: 20, delaySeconds: 0.2, policy: 'constant' },
    });

    // A 12 MiB video served slowly: the upload is still in its first parts when the process dies.
    const plaintext = plaintextOf(2 * PART + 2 * 1024 * 1024);
    const media = await publishMedia(cdn, { type: 'video', plaintext });
    cdn.misbehave(media.path, { slowBytesPerSec: 4 * 1024 * 1024, times: 1 });
    const { mediaId } = (await call(p1, 'POST', '/api/sessions/shop/simulate/message', key, media.message)) as {
      mediaId: string;
    };
    const textIds = Array.from({ length: TEXTS }, (_, i) => `CRASH-${i}`);
    for (const id of textIds) {
      await call(p1, 'POST', '/api/sessions/shop/simulate/message', key, {
        key: { remoteJid: '15550001111@s.whatsapp.net', id },
        message: { conversation: id },
      });
    }
    // The events have been tried (and refused) at least once; then kill as soon as parts are up.
    await r.waitFor((rs) => rs.length >= TEXTS);
    await eventually(
      async () => ((await pendingUploads(s3, bucket)).some((k) => k.includes(mediaId)) ? true : undefined),
      15_000,
      'a multipart upload in progress',
    );

    p1.kill('SIGKILL');
    await p1.exited;
    p1Alive = false;
    expect((await pendingUploads(s3, bucket)).filter((k) => k.includes(mediaId))).toHaveLength(1);
    expect(answered.size).toBe(0);

    const p2 = await start();
    try {
      const delivered = (event: string) =>
        r.received.filter((x) => x.body.event === event && answered.has(x.body.id)).map((x) => x.body);
      await r.waitFor(
        () =>
          textIds.every((id) => delivered('message.received').some((b) => b.payload.id === id)) &&
          delivered('message.received').some((b) => b.payload.mediaId === mediaId) &&
          delivered('media.persisted').length === 1,
        30_000,
      );
      const announced = delivered('message.received').find((b) => b.payload.mediaId === mediaId)!;
      expect(announced.payload.persistError).toBeUndefined();
      expect(sha256(Buffer.from(await (await fetch(announced.payload.mediaUrl as string)).arrayBuffer()))).toBe(
        sha256(plaintext),
      );
      expect((await listKeys(s3, bucket)).filter((k) => k.includes(mediaId))).toHaveLength(1);
      expect(await pendingUploads(s3, bucket)).toEqual([]);
      expect(p2.stdout()).toContain('an earlier run of this auto-persist died');
      expect(await call(p2, 'GET', `/api/sessions/shop/media/${mediaId}`, key)).toMatchObject({ persisted: true });
      // Every event the first process had queued got a 200 at last.
      const queued = new Set(r.received.filter((x) => x.body.event === 'message.received').map((x) => x.body.id));
      expect([...queued].filter((id) => !answered.has(id))).toEqual([]);
    } finally {
      p2.kill('SIGTERM');
      await p2.exited;
    }
  });
});
