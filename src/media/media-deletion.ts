import type { Clock } from '../clock.js';
import type { Metrics } from '../metrics.js';
import type { Db, Trx } from '../store/db.js';
import { deleteThumbnail, updateMedia } from '../store/repositories/media.js';
import { queueObjectDeletions } from '../store/repositories/media-deletions.js';
import type { MediaTable } from '../store/schema.js';
import type { MediaLookup } from './media-lookup.js';

export interface DeletedMedia {
  id: string;
  deletedAt: string;
  /** What happens to the stored object: being deleted, kept (`keepObject`), or there was none. */
  object: 'deleting' | 'kept' | 'none';
}

export type MediaDeletion = ReturnType<typeof createMediaDeletion>;

/** Runs inside the transaction that writes the tombstone (the `media.deleted` event). */
export type DeletionHook = (
  trx: Trx,
  d: { accountId: string; session: string; media: MediaTable; deletedAt: string; object: DeletedMedia['object'] },
) => Promise<void>;

/** The owner's delete: the record becomes a tombstone, the secrets and content go. */
export function createMediaDeletion(deps: {
  db: Db;
  clock: Clock;
  lookup: MediaLookup;
  onDeleted: DeletionHook;
  wakeDeletions: () => void;
  notify: () => void;
  metrics: Metrics;
}) {
  return {
    /**
     * Wipes the media key, the sealed message, the thumbnail, caption and file name, and queues
     * the stored object's deletion (unless `keepObject`); the id answers 410 from then on. The
     * tombstone, the queued deletion and the `media.deleted` event commit together.
     */
    async delete(
      accountId: string,
      sessionName: string,
      mediaId: string,
      opts: { keepObject: boolean },
    ): Promise<DeletedMedia> {
      const { session, row } = await deps.lookup(accountId, sessionName, mediaId);
      const now = deps.clock.now().toISOString();
      const stored = row.s3_bucket !== null && row.s3_key !== null;
      const object = !stored ? 'none' : opts.keepObject ? 'kept' : 'deleting';
      await deps.db.transaction().execute(async (trx) => {
        await updateMedia(trx, row.id, {
          deleted_at: now,
          media_key: '',
          wa_message: null,
          caption: null,
          file_name: null,
          direct_path: null,
          url: null,
          has_thumbnail: 0,
          persisted_at: null,
          s3_bucket: null,
          s3_key: null,
          s3_size: null,
          ...(object === 'deleting' ? { object_deleted_at: now } : {}),
          updated_at: now,
        });
        await deleteThumbnail(trx, row.id);
        if (object === 'deleting')
          await queueObjectDeletions(
            trx,
            [{ accountId, mediaId: row.id, bucket: row.s3_bucket!, key: row.s3_key! }],
            'delete',
            now,
          );
        await deps.onDeleted(trx, { accountId, session: session.name, media: row, deletedAt: now, object });
      });
      deps.metrics.lifecycle('media_deleted');
      deps.notify();
      if (object === 'deleting') deps.wakeDeletions();
      return { id: row.id, deletedAt: now, object };
    },
  };
}
