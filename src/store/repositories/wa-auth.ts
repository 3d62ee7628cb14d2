import type { DbOrTrx } from '../db.js';

export function findCreds(db: DbOrTrx, sessionId: string) {
  return db.selectFrom('wa_auth_creds').select('creds').where('session_id', '=', sessionId).executeTakeFirst();
}

export function upsertCreds(db: DbOrTrx, sessionId: string, creds: string, at: string) {
  return db
    .insertInto('wa_auth_creds')
    .values({ session_id: sessionId, creds, updated_at: at })
    .onConflict((oc) => oc.column('session_id').doUpdateSet({ creds, updated_at: at }))
    .execute();
}

export function findKeys(db: DbOrTrx, sessionId: string, type: string, ids: string[]) {
  return db
    .selectFrom('wa_auth_keys')
    .select(['key_id', 'value'])
    .where('session_id', '=', sessionId)
    .where('type', '=', type)
    .where('key_id', 'in', ids)
    .execute();
}

export function upsertKey(db: DbOrTrx, sessionId: string, type: string, keyId: string, value: string) {
  return db
    .insertInto('wa_auth_keys')
    .values({ session_id: sessionId, type, key_id: keyId, value })
    .onConflict((oc) => oc.columns(['session_id', 'type', 'key_id']).doUpdateSet({ value }))
    .execute();
}

export function deleteKeys(db: DbOrTrx, sessionId: string, type: string, ids: string[]) {
  return db
    .deleteFrom('wa_auth_keys')
    .where('session_id', '=', sessionId)
    .where('type', '=', type)
    .where('key_id', 'in', ids)
    .execute();
}

/** Wipes a session's credentials and keys (logout). */
export async function deleteAuth(db: DbOrTrx, sessionId: string) {
  await db.deleteFrom('wa_auth_keys').where('session_id', '=', sessionId).execute();
  await db.deleteFrom('wa_auth_creds').where('session_id', '=', sessionId).execute();
}
