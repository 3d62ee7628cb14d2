import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createSimulatorJanitor } from '../src/simulator/simulator-janitor.js';
import { buildTestApp, type TestApp } from './support/app.js';
import { DIALECTS } from './support/databases.js';
import { plaintextOf } from './support/media.js';

describe.each(DIALECTS)('simulator files are cleaned up (%s)', (dialect) => {
  let t: TestApp;
  let base: string;
  let auth: { authorization: string };
  const dataDir = mkdtempSync(join(tmpdir(), 'titan-sim-'));
  const cdnDir = join(dataDir, 'simulator', 'cdn');

  beforeAll(async () => {
    t = await buildTestApp(dialect, { SIMULATOR_ENABLED: 'true', DATA_DIR: dataDir, SIMULATOR_RETENTION_HOURS: '24' });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    auth = (await t.newAccount()).auth;
    for (const name of ['kept', 'dropped'])
      await t.app.inject({ method: 'POST', url: '/api/sessions', headers: auth, payload: { name } });
  });
  afterAll(() => t.close());

  const simulate = async (session: string) => {
    const res = await fetch(`${base}/api/sessions/${session}/simulate/media`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/jpeg' },
      body: plaintextOf(50_000),
    });
    expect(res.status).toBe(201);
    const { mediaId } = ((await res.json()) as { data: { mediaId: string } }).data;
    const row = await t.db.store.db
      .selectFrom('media')
      .select('url')
      .where('id', '=', mediaId)
      .executeTakeFirstOrThrow();
    return join(cdnDir, row.url!.split('/').pop()!);
  };
  const janitorAt = (offsetMs: number) =>
    createSimulatorJanitor({
      db: t.db.store.db,
      clock: { now: () => new Date(Date.now() + offsetMs) },
      cdnDir,
      retentionMs: 24 * 3_600_000,
      intervalMs: 60_000,
      logger: createLogger('silent'),
    });

  it("a deleted session's files go; a live media's file stays until the retention, then goes", async () => {
    const kept = await simulate('kept');
    const dropped = await simulate('dropped');
    expect(readdirSync(cdnDir)).toHaveLength(2);
    const del = await t.app.inject({ method: 'DELETE', url: '/api/sessions/dropped', headers: auth });
    expect(del.statusCode).toBe(204);

    // Within the minute's grace an unreferenced file may still be on its way in: nothing goes.
    expect((await janitorAt(0).prune()).removed).toBe(0);
    expect((await janitorAt(2 * 60_000).prune()).removed).toBe(1);
    expect(existsSync(dropped)).toBe(false);
    expect(existsSync(kept)).toBe(true);

    expect((await janitorAt(25 * 3_600_000).prune()).removed).toBe(1);
    expect(existsSync(kept)).toBe(false);
  });
});
