import type { DbOrTrx } from '../db.js';
import { readJson, StoredS3Schema, type StoredS3 } from '../json-columns.js';
import type { AccountSettingsTable } from '../schema.js';

/** An account's settings as the code sees them: the bucket settings parsed. */
export type SettingsRecord = Omit<AccountSettingsTable, 's3'> & { s3: StoredS3 | null };

export async function findSettings(db: DbOrTrx, accountId: string): Promise<SettingsRecord | undefined> {
  const r = await db.selectFrom('account_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  return r && { ...r, s3: r.s3 === null ? null : readJson(StoredS3Schema, r.s3, 'account_settings.s3') };
}

/** Inserts or replaces an account's settings row. */
export function upsertSettings(db: DbOrTrx, record: SettingsRecord) {
  const row: AccountSettingsTable = { ...record, s3: record.s3 ? JSON.stringify(record.s3) : null };
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
