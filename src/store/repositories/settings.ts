import type { DbOrTrx } from '../db.js';
import type { AccountSettingsTable } from '../schema.js';

export function findSettings(db: DbOrTrx, accountId: string) {
  return db.selectFrom('account_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}

/** Inserts or replaces an account's settings row. */
export function upsertSettings(db: DbOrTrx, row: AccountSettingsTable) {
  return db
    .insertInto('account_settings')
    .values(row)
    .onConflict((oc) =>
      oc.column('account_id').doUpdateSet({
        s3: row.s3,
        auto_persist: row.auto_persist,
        download_mode: row.download_mode,
        persist_before_expiry: row.persist_before_expiry,
        retention: row.retention,
        version: row.version,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}
