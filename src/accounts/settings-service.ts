import type { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { S3EndpointNotAllowedError, S3SettingsInvalidError } from '../errors.js';
import { hostOf, resolveAllowed } from '../net/address-policy.js';
import type { Db } from '../store/db.js';
import { findSettings, upsertSettings } from '../store/repositories/settings.js';
import type { AccountSettingsTable } from '../store/schema.js';
import { buildS3Client, SERVER_DEFAULT_KEY, type EndpointGuard, type S3ClientCache } from '../storage/s3-clients.js';
import { probeBucket } from '../storage/s3-objects.js';
import type { S3Settings, StorageTarget } from '../storage/s3-settings.js';

export type DownloadMode = 'stream' | 'redirect';

/** S3 settings as given by a client: the secret may be omitted to keep the stored one. */
export type S3SettingsInput = Omit<S3Settings, 'secretAccessKey'> & { secretAccessKey?: string | null | undefined };

export interface SettingsInput {
  s3: S3SettingsInput | null;
  autoPersist: boolean;
  downloadMode: DownloadMode;
}

/** What GET shows: the secret is write-only, so only whether one is set. */
export interface SettingsView {
  s3: (Omit<S3Settings, 'secretAccessKey'> & { secretAccessKeySet: boolean }) | null;
  autoPersist: boolean;
  downloadMode: DownloadMode;
  /** Which bucket persist uses: the account's, the server default, or none. */
  storage: 'account' | 'server' | 'none';
  updatedAt: string | null;
}

type StoredS3 = Omit<S3Settings, 'secretAccessKey'> & { secretAccessKeySealed: string | null };

export type SettingsService = ReturnType<typeof createSettingsService>;

/** Per-account settings, with the server-wide default bucket for accounts without their own. */
export function createSettingsService(deps: { db: Db; clock: Clock; secretBox: SecretBox; serverDefault: S3Settings | null; s3Clients: S3ClientCache; endpointGuard: EndpointGuard }) {
  const parse = (row: AccountSettingsTable | undefined): StoredS3 | null => (row?.s3 ? (JSON.parse(row.s3) as StoredS3) : null);

  function view(row: AccountSettingsTable | undefined): SettingsView {
    const s3 = parse(row);
    let publicS3: SettingsView['s3'] = null;
    if (s3) {
      const { secretAccessKeySealed, ...rest } = s3;
      publicS3 = { ...rest, secretAccessKeySet: secretAccessKeySealed !== null };
    }
    return {
      s3: publicS3,
      autoPersist: row?.auto_persist === 1,
      downloadMode: (row?.download_mode as DownloadMode | undefined) ?? 'stream',
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
          secretAccessKey === undefined ? (parse(current)?.secretAccessKeySealed ?? null) : secretAccessKey === null ? null : deps.secretBox.seal(secretAccessKey);
        stored = { ...rest, secretAccessKeySealed: sealed };
        if (rest.endpoint) await assertEndpointAllowed(rest.endpoint, deps.endpointGuard);
        if (opts.verify) {
          const settings = { ...rest, secretAccessKey: sealed ? deps.secretBox.open(sealed).toString('utf8') : null };
          const client = await buildS3Client(settings, deps.endpointGuard);
          try {
            const reason = await probeBucket(client, settings.bucket);
            if (reason) throw new S3SettingsInvalidError(reason);
          } finally {
            client.destroy();
          }
        }
      }
      const row: AccountSettingsTable = {
        account_id: accountId,
        s3: stored ? JSON.stringify(stored) : null,
        auto_persist: input.autoPersist ? 1 : 0,
        download_mode: input.downloadMode,
        version: (current?.version ?? 0) + 1,
        updated_at: deps.clock.now().toISOString(),
      };
      await upsertSettings(deps.db, row);
      return view(row);
    },

    /** The bucket persist and reads use for this account, or null when none applies. */
    async storageFor(accountId: string): Promise<{ target: StorageTarget; client: S3Client; downloadMode: DownloadMode } | null> {
      const row = await findSettings(deps.db, accountId);
      const s3 = parse(row);
      const downloadMode = (row?.download_mode as DownloadMode | undefined) ?? 'stream';
      let target: StorageTarget | null = null;
      if (s3) {
        const { secretAccessKeySealed, ...rest } = s3;
        const secretAccessKey = secretAccessKeySealed ? deps.secretBox.open(secretAccessKeySealed).toString('utf8') : null;
        target = { cacheKey: `${accountId}@${row!.version}`, settings: { ...rest, secretAccessKey } };
      } else if (deps.serverDefault) {
        target = { cacheKey: SERVER_DEFAULT_KEY, settings: deps.serverDefault };
      }
      return target ? { target, client: await deps.s3Clients.get(target), downloadMode } : null;
    },
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
