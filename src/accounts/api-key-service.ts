import type { Clock } from '../clock.js';
import { ApiKeyNotFoundError, ForbiddenError } from '../errors.js';
import { newId } from '../ids.js';
import type { Db } from '../store/db.js';
import * as repo from '../store/repositories/api-keys.js';
import type { ApiKeyRecord } from '../store/repositories/api-keys.js';
import { displayPrefix, digestsEqual, generateKeySecret, hashKeySecret, looksLikeKeySecret } from './key-secret.js';
import { coversScopes, type Scope } from './scopes.js';

export interface ApiKey {
  id: string;
  accountId: string;
  label: string;
  prefix: string;
  scopes: string[];
  isActive: boolean;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** Who is calling: the verified key and its account. */
export interface Principal {
  keyId: string;
  accountId: string;
  scopes: string[];
}

export interface CreateKeyInput {
  label: string;
  scopes: Scope[];
  lifetimeDays?: number | undefined;
}

const toApiKey = (r: ApiKeyRecord): ApiKey => ({
  id: r.id,
  accountId: r.account_id,
  label: r.label,
  prefix: r.prefix,
  scopes: r.scopes,
  isActive: r.is_active === 1,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  createdAt: r.created_at,
});

const DAY_MS = 86_400_000;
// last_used_at is informative; writing it on every request would make each read a write.
const TOUCH_INTERVAL_MS = 60_000;

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

/** API keys: creation (secret shown once), listing, changes, and authentication by secret. */
export function createApiKeyService(db: Db, clock: Clock, opts: { cacheTtlMs: number }) {
  // Short-lived cache of verified keys; entries are dropped on every change made here, and
  // live at most cacheTtlMs (a few seconds) so changes made by another process apply quickly.
  const cache = new Map<string, { row: ApiKeyRecord; at: number }>();
  const touched = new Map<string, number>();

  function invalidate(id: string) {
    for (const [hash, e] of cache) if (e.row.id === id) cache.delete(hash);
  }

  async function lookup(hash: string): Promise<ApiKeyRecord | undefined> {
    const now = clock.now().getTime();
    const hit = cache.get(hash);
    if (hit && now - hit.at < opts.cacheTtlMs) return hit.row;
    const row = await repo.findApiKeyByHash(db, hash);
    if (row && opts.cacheTtlMs > 0) cache.set(hash, { row, at: now });
    else cache.delete(hash);
    return row;
  }

  return {
    /** Creates a key for `accountId`; `grantedBy` (the caller's scopes) bounds what it may hold. */
    async create(accountId: string, input: CreateKeyInput, grantedBy?: readonly string[]) {
      if (grantedBy && !coversScopes(grantedBy, input.scopes)) {
        throw new ForbiddenError('A key cannot create a key with scopes it does not hold itself.');
      }
      const secret = generateKeySecret();
      const now = clock.now();
      const row: ApiKeyRecord = {
        id: newId('key_'),
        account_id: accountId,
        label: input.label,
        prefix: displayPrefix(secret),
        hash: hashKeySecret(secret),
        scopes: [...new Set<string>(input.scopes)],
        is_active: 1,
        expires_at: input.lifetimeDays ? new Date(now.getTime() + input.lifetimeDays * DAY_MS).toISOString() : null,
        last_used_at: null,
        created_at: now.toISOString(),
      };
      await repo.insertApiKey(db, row);
      return { ...toApiKey(row), key: secret };
    },

    async list(accountId?: string) {
      return (await repo.listApiKeys(db, accountId)).map(toApiKey);
    },

    async update(accountId: string, id: string, patch: { label?: string | undefined; isActive?: boolean | undefined }) {
      const set: { label?: string; is_active?: number } = {};
      if (patch.label !== undefined) set.label = patch.label;
      if (patch.isActive !== undefined) set.is_active = patch.isActive ? 1 : 0;
      if (Object.keys(set).length > 0 && !(await repo.updateApiKey(db, accountId, id, set))) {
        throw new ApiKeyNotFoundError();
      }
      invalidate(id);
      const row = await repo.findApiKey(db, accountId, id);
      if (!row) throw new ApiKeyNotFoundError();
      return toApiKey(row);
    },

    async remove(accountId: string, id: string) {
      if (!(await repo.deleteApiKey(db, accountId, id))) throw new ApiKeyNotFoundError();
      invalidate(id);
    },

    /** The principal of a valid, active, unexpired key, else null. */
    async authenticate(secret: string): Promise<Principal | null> {
      if (!looksLikeKeySecret(secret)) return null;
      const hash = hashKeySecret(secret);
      const row = await lookup(hash);
      if (!row || !digestsEqual(row.hash, hash) || row.is_active !== 1) return null;
      const now = clock.now();
      if (row.expires_at !== null && row.expires_at <= now.toISOString()) return null;
      const last = touched.get(row.id) ?? 0;
      if (now.getTime() - last > TOUCH_INTERVAL_MS) {
        touched.set(row.id, now.getTime());
        await repo.touchApiKey(db, row.id, now.toISOString());
      }
      return { keyId: row.id, accountId: row.account_id, scopes: row.scopes };
    },

    count: () => repo.countApiKeys(db),
  };
}
