import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';

const PART_MAX_AGE_MS = 3_600_000;

/**
 * Keeps the simulator's data folder from growing for ever: a simulated CDN file goes once no
 * media refers to it any more (its session was deleted) or once it is older than the retention
 * (like WhatsApp's CDN, which drops files after about 14 days: the media then answers 410).
 * Unfinished uploads (`.part`) older than an hour go too.
 */
export function createSimulatorJanitor(deps: {
  db: Db;
  clock: Clock;
  cdnDir: string;
  retentionMs: number;
  intervalMs: number;
  logger: Logger;
}) {
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<unknown> = Promise.resolve();

  async function prune(): Promise<{ removed: number }> {
    let names: string[];
    try {
      names = await readdir(deps.cdnDir);
    } catch {
      return { removed: 0 };
    }
    const rows = await deps.db.selectFrom('media').select('url').where('url', 'like', '%/simulator/cdn/%').execute();
    const referenced = new Set(rows.map((r) => r.url?.split('/').pop()));
    const now = deps.clock.now().getTime();
    let removed = 0;
    for (const name of names) {
      const path = join(deps.cdnDir, name);
      const st = await stat(path).catch(() => null);
      if (!st) continue;
      const age = now - st.mtimeMs;
      // A file just written may not be referenced yet (its ingest is still running): a minute's grace.
      const stale = name.endsWith('.part')
        ? age > PART_MAX_AGE_MS
        : age > deps.retentionMs || (!referenced.has(name) && age > 60_000);
      if (stale) {
        await rm(path, { force: true });
        removed++;
      }
    }
    if (removed > 0) deps.logger.info({ removed }, 'simulator files pruned');
    return { removed };
  }

  const run = () =>
    (current = prune().catch((err: unknown) => deps.logger.warn({ err }, 'could not prune simulator files')));

  return {
    prune,
    start() {
      void run();
      timer = setInterval(() => void run(), deps.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await current;
    },
  };
}
