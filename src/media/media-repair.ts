import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/db.js';
import { updateMedia } from '../store/repositories/media.js';
import type { MediaTable } from '../store/schema.js';

export type MediaRepair = ReturnType<typeof createMediaRepair>;

/**
 * Self-repair when the bucket lost an object behind our back (a lifecycle rule, a person, a
 * restore): the media goes back to unpersisted, so downloads fall back to the CDN while it still
 * has the file and the next persist stores it again.
 */
export function createMediaRepair(deps: { db: Db; clock: Clock; logger: Logger; metrics: Metrics }) {
  return {
    async objectVanished(accountId: string, row: MediaTable): Promise<void> {
      await updateMedia(deps.db, row.id, {
        persisted_at: null,
        s3_bucket: null,
        s3_key: null,
        s3_size: null,
        updated_at: deps.clock.now().toISOString(),
      });
      deps.metrics.objectVanished();
      deps.logger.warn(
        { accountId, mediaId: row.id, bucket: row.s3_bucket, key: row.s3_key },
        'a persisted object is gone from the bucket: the media is marked unpersisted',
      );
    },
  };
}
