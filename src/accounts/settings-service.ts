import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { S3EndpointNotAllowedError, S3SettingsInvalidError } from '../errors.js';
import { hostOf, resolveAllowed } from '../net/address-policy.js';
import type { Db } from '../store/db.js';
import type { StoredS3 } from '../store/json-columns.js';
import { findSettings, upsertSettings, type SettingsRecord } from '../store/repositories/settings.js';
import type { DownloadMode, StorageResolver } from '../storage/buckets.js';
import { SERVER_DEFAULT_KEY, type EndpointGuard } from '../storage/s3-clients.js';
import type { S3Settings, StorageTarget } from '../storage/s3-settings.js';

export type { DownloadMode } from '../storage/buckets.js';

/** S3 settings as given by a client: the secret may be omitted to keep the stored one. */
export type S3SettingsInput = Omit<S3Settings, 'secretAccessKey'> & { secretAccessKey?: string | null | undefined };

/** Persist unpersisted media this many hours before their CDN copy expires. */
export interface PersistBeforeExpiry {
  enabled: boolean;
  hoursBefore: number;
}

/** Days after which stored objects, and media records (with their keys), are removed; null keeps. */
export interface Retention {
  persistedDays: number | null;
  recordsDays: number | null;
}

export const PERSIST_BEFORE_EXPIRY_OFF: PersistBeforeExpiry = { enabled: false, hoursBefore: 48 };
export const KEEP_EVERYTHING: Retention = { persistedDays: null, recordsDays: null };

export interface SettingsInput {
  s3: S3SettingsInput | null;
  autoPersist: boolean;
  downloadMode: DownloadMode;
  persistBeforeExpiry: PersistBeforeExpiry;
  retention: Retention;
}

/** What GET shows: the secret is write-only, so only whether one is set. */
export interface SettingsView {
  s3: (Omit<S3Settings, 'secretAccessKey'> & { secretAccessKeySet: boolean }) | null;
  autoPersist: boolean;
  downloadMode: DownloadMode;
  persistBeforeExpiry: PersistBeforeExpiry;
  retention: Retention;
  /** Which bucket persist uses: the account's, the server default, or none. */
  storage: 'account' | 'server' | 'none';
  updatedAt: string | null;
}

export type SettingsService = ReturnType<typeof createSettingsService>;

/** Per-account settings, with the server-wide default bucket for accounts without their own. */
export function createSettingsService(deps: {
  db: Db;
  clock: Clock;
  secretBox: SecretBox;
  serverDefault: S3Settings | null;
  /** Checks settings against their bucket; returns why it cannot be used, or null. */
  probe: (settings: S3Settings) => Promise<string | null>;
  /** The address policy an account's endpoint must pass on save. */
  endpointGuard: EndpointGuard;
}) {
  function view(row: SettingsRecord | undefined): SettingsView {
    const s3 = row?.s3 ?? null;
    let publicS3: SettingsView['s3'] = null;
    if (s3) {
      const { secretAccessKeySealed, ...rest } = s3;
      publicS3 = { ...rest, secretAccessKeySet: secretAccessKeySealed !== null };
    }
    return {
      s3: publicS3,
      autoPersist: row?.auto_persist === 1,
      downloadMode: row?.download_mode ?? 'stream',
      persistBeforeExpiry: row?.persist_before_expiry
        ? (JSON.parse(row.persist_before_expiry) as PersistBeforeExpiry)
        : PERSIST_BEFORE_EXPIRY_OFF,
      retention: row?.retention ? (JSON.parse(row.retention) as Retention) : KEEP_EVERYTHING,
      storage: s3 ? 'account' : deps.serverDefault ? 'server' : 'none',
      updatedAt: row?.updated_at ?? null,
    };
  }

  return {
    async get(accountId: string): Promise<SettingsView> {
      return view(await findSettings(deps.db, accountId));
    },

    /** Replaces the settings; unless `verify` is false, the bucket must accept them first. */
    async put(accountId: string, input: SettingsInput, opts: { verify: boolean }): Promise<SettingsView> {
      const current = await findSettings(deps.db, accountId);
      let stored: StoredS3 | null = null;
      if (input.s3) {
        const { secretAccessKey, ...rest } = input.s3;
        // Omitted secret: keep the stored one (GET never shows it, so clients cannot echo it).
        const sealed =
          secretAccessKey === undefined
            ? (current?.s3?.secretAccessKeySealed ?? null)
            : secretAccessKey === null
              ? null
              : deps.secretBox.seal(secretAccessKey);
        stored = { ...rest, secretAccessKeySealed: sealed };
        if (rest.endpoint) await assertEndpointAllowed(rest.endpoint, deps.endpointGuard);
        if (opts.verify) {
          const settings = { ...rest, secretAccessKey: sealed ? deps.secretBox.open(sealed).toString('utf8') : null };
          const reason = await deps.probe(settings);
          if (reason) throw new S3SettingsInvalidError(reason);
        }
      }
      const row: SettingsRecord = {
        account_id: accountId,
        s3: stored,
        auto_persist: input.autoPersist ? 1 : 0,
        download_mode: input.downloadMode,
        persist_before_expiry: JSON.stringify(input.persistBeforeExpiry),
        retention: JSON.stringify(input.retention),
        version: (current?.version ?? 0) + 1,
        updated_at: deps.clock.now().toISOString(),
      };
      await upsertSettings(deps.db, row);
      return view(row);
    },

    /** The bucket settings persist and reads use for this account, or null when none applies. */
    storageOf: (async (accountId) => {
      const row = await findSettings(deps.db, accountId);
      const s3 = row?.s3 ?? null;
      const downloadMode = row?.download_mode ?? 'stream';
      let target: StorageTarget | null = null;
      if (row && s3) {
        const { secretAccessKeySealed, ...rest } = s3;
        const secretAccessKey = secretAccessKeySealed
          ? deps.secretBox.open(secretAccessKeySealed).toString('utf8')
          : null;
        target = { cacheKey: `${accountId}@${row.version}`, settings: { ...rest, secretAccessKey } };
      } else if (deps.serverDefault) {
        target = { cacheKey: SERVER_DEFAULT_KEY, settings: deps.serverDefault };
      }
      return target ? { target, downloadMode } : null;
    }) satisfies StorageResolver,
  };
}

/** The address policy on save: one message for every refusal, the reason as its cause (logged). */
async function assertEndpointAllowed(endpoint: string, guard: EndpointGuard): Promise<void> {
  try {
    const u = new URL(endpoint);
    if (u.port === '0') throw new Error('port 0 is not a port');
    await resolveAllowed(hostOf(u), guard.allowPrivate);
  } catch (err) {
    throw new S3EndpointNotAllowedError({ cause: err });
  }
}
