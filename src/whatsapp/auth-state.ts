import type {
  AuthenticationCreds,
  AuthenticationState,
  SignalDataSet,
  SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../store/db.js';
import * as repo from '../store/repositories/wa-auth.js';
import { loadBaileys } from './baileys.js';
import { bufferReplacer, bufferReviver } from './buffer-json.js';

/** A session's Baileys auth state, read from and written to the database. */
export interface DbAuthState {
  state: AuthenticationState;
  /** Writes the (in-place mutated) credentials; call on every `creds.update`. */
  saveCreds(): Promise<void>;
}

// Bounded IN lists: Baileys may ask for hundreds of pre-keys at once.
const CHUNK = 500;

/**
 * Loads (or, for a new session, initialises with `initAuthCreds()`) the credentials and signal
 * keys of a session. Everything is BufferJSON serialised (buffer-json.ts) and sealed with SECRET_KEY; a key
 * batch from Baileys is written in one transaction, so a crash never leaves half of it.
 */
export async function loadDbAuthState(
  deps: { db: Db; secretBox: SecretBox; clock: Clock },
  sessionId: string,
): Promise<DbAuthState> {
  const { db, secretBox } = deps;
  // A session is starting: the socket needs Baileys anyway.
  const { initAuthCreds, proto } = await loadBaileys();
  const seal = (v: unknown) => secretBox.seal(JSON.stringify(v, bufferReplacer));
  const open = <T>(s: string) => JSON.parse(secretBox.open(s).toString('utf8'), bufferReviver) as T;

  const row = await repo.findCreds(db, sessionId);
  const creds = row ? open<AuthenticationCreds>(row.creds) : initAuthCreds();

  return {
    state: {
      creds,
      keys: {
        async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
          const out: Record<string, SignalDataTypeMap[T]> = {};
          for (let i = 0; i < ids.length; i += CHUNK) {
            for (const r of await repo.findKeys(db, sessionId, type, ids.slice(i, i + CHUNK))) {
              const value = open<SignalDataTypeMap[T]>(r.value);
              // Baileys expects the protobuf class here, not a plain object.
              out[r.key_id] =
                type === 'app-state-sync-key'
                  ? (proto.Message.AppStateSyncKeyData.fromObject(value as object) as unknown as SignalDataTypeMap[T])
                  : value;
            }
          }
          return out;
        },
        async set(data: SignalDataSet) {
          await db.transaction().execute(async (trx) => {
            for (const [type, entries] of Object.entries(data)) {
              const gone: string[] = [];
              for (const [id, value] of Object.entries(entries ?? {})) {
                if (value === null || value === undefined) gone.push(id);
                else await repo.upsertKey(trx, sessionId, type, id, seal(value));
              }
              for (let i = 0; i < gone.length; i += CHUNK)
                await repo.deleteKeys(trx, sessionId, type, gone.slice(i, i + CHUNK));
            }
          });
        },
      },
    },
    saveCreds: () => repo.upsertCreds(db, sessionId, seal(creds), deps.clock.now().toISOString()).then(() => undefined),
  };
}

/** Whether a session has credentials of a linked device (pairing completed: `me` and `account` set). */
export async function isPaired(deps: { db: Db; secretBox: SecretBox }, sessionId: string): Promise<boolean> {
  const row = await repo.findCreds(deps.db, sessionId);
  if (!row) return false;
  const creds = JSON.parse(deps.secretBox.open(row.creds).toString('utf8'), bufferReviver) as AuthenticationCreds;
  return Boolean(creds.me?.id && creds.account);
}
