import type { Updateable } from 'kysely';
import type { DbOrTrx } from '../db.js';
import type { UploadTable } from '../schema.js';

export type ClaimResult = { won: true; previous: UploadTable | null } | { won: false; current: UploadTable };

/**
 * Claims the upload of a media: a new row, or the row of a run that failed or whose owner's
 * lease lapsed (compare-and-set on its claim id, so two takers cannot both win). `previous`
 * is the row taken over: its upload may still be open and must be aborted first.
 */
export async function claimUpload(db: DbOrTrx, row: UploadTable): Promise<ClaimResult> {
  const r = await db
    .insertInto('uploads')
    .values(row)
    .onConflict((oc) => oc.column('media_id').doNothing())
    .executeTakeFirst();
  if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) return { won: true, previous: null };
  const current = await findUpload(db, row.media_id);
  if (!current) return claimUpload(db, row);
  if (current.state === 'running' && current.lease_expires_at >= row.created_at) return { won: false, current };
  const taken = await db
    .updateTable('uploads')
    .set({ ...row, created_at: current.created_at })
    .where('media_id', '=', row.media_id)
    .where('claim_id', '=', current.claim_id)
    .executeTakeFirst();
  if (Number(taken.numUpdatedRows) > 0) return { won: true, previous: current };
  const now = await findUpload(db, row.media_id);
  return now ? { won: false, current: now } : claimUpload(db, row);
}

export function findUpload(db: DbOrTrx, mediaId: string) {
  return db.selectFrom('uploads').selectAll().where('media_id', '=', mediaId).executeTakeFirst();
}

/** Updates the row of one claim; false when the claim is no longer the media's. */
export async function updateClaim(
  db: DbOrTrx,
  mediaId: string,
  claimId: string,
  patch: Updateable<UploadTable>,
): Promise<boolean> {
  const r = await db
    .updateTable('uploads')
    .set(patch)
    .where('media_id', '=', mediaId)
    .where('claim_id', '=', claimId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Removes the row of one claim (the upload completed, or its leftovers were aborted). */
export function deleteClaim(db: DbOrTrx, mediaId: string, claimId: string) {
  return db.deleteFrom('uploads').where('media_id', '=', mediaId).where('claim_id', '=', claimId).execute();
}

/** Rows the sweeper must clean: running with a lapsed lease, or failed with an unconfirmed abort. */
export function uploadsToSweep(db: DbOrTrx, now: string, limit: number) {
  return db
    .selectFrom('uploads')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<', now)]),
        eb.and([eb('state', '=', 'failed'), eb('needs_abort', '=', 1)]),
      ]),
    )
    .orderBy('lease_expires_at')
    .limit(limit)
    .execute();
}

/** Keys of uploads running under a live lease (the stray sweep leaves them alone). */
export async function liveUploadKeys(db: DbOrTrx, now: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('uploads')
    .select(['bucket', 'object_key'])
    .where('state', '=', 'running')
    .where('lease_expires_at', '>=', now)
    .execute();
  return new Set(rows.map((r) => `${r.bucket}/${r.object_key}`));
}

/** Forgets failures (already aborted) older than `before`: their waiters read them long ago. */
export function pruneFailedUploads(db: DbOrTrx, before: string) {
  return db
    .deleteFrom('uploads')
    .where('state', '=', 'failed')
    .where('needs_abort', '=', 0)
    .where('updated_at', '<', before)
    .execute();
}

/** Accounts with bucket settings of their own (the others use the server default). */
export async function accountsWithOwnBucket(db: DbOrTrx): Promise<string[]> {
  const rows = await db.selectFrom('account_settings').select('account_id').where('s3', 'is not', null).execute();
  return rows.map((r) => r.account_id);
}
