import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { SessionExistsError, SessionNotFoundError } from '../errors.js';
import { newId } from '../ids.js';
import type { Db } from '../store/db.js';
import { queueObjectDeletions, storedObjectsOfSession } from '../store/repositories/media-deletions.js';
import * as repo from '../store/repositories/sessions.js';
import type { SessionTable } from '../store/schema.js';
import { assertProxyAllowed, maskProxy, openProxy, sealProxy } from './session-proxy.js';

export interface Session {
  name: string;
  status: string;
  statusReason: string | null;
  phoneNumber: string | null;
  pushName: string | null;
  businessName: string | null;
  platform: string | null;
  lid: string | null;
  proxy: string | null;
  config: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

/** The one mapping from a session row to the API; the proxy (stored sealed) is shown masked. */
const toSession = (r: SessionTable, box: SecretBox | null): Session => ({
  name: r.name,
  status: r.status,
  statusReason: r.status_reason,
  phoneNumber: r.phone_number,
  pushName: r.push_name,
  businessName: r.business_name,
  platform: r.platform,
  lid: r.lid,
  proxy: r.proxy === null ? null : maskProxy(box ? openProxy(box, r.proxy)! : r.proxy),
  config: r.config === null ? null : (JSON.parse(r.config) as Record<string, unknown>),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface CreateSessionInput {
  name: string;
  proxy?: string | null | undefined;
  config?: Record<string, unknown> | null | undefined;
}

export type SessionService = ReturnType<typeof createSessionService>;

export interface SessionServiceOptions {
  /** Seals proxy URLs at rest; without one (tests of the store alone) they are kept as given. */
  secretBox?: SecretBox;
  /** SESSION_PROXY_ALLOW_PRIVATE_NETWORKS: proxies on loopback and private addresses are accepted. */
  proxyAllowPrivateNetworks?: boolean;
}

/** Session records of an account. Every lookup is scoped by account. */
export function createSessionService(db: Db, clock: Clock, opts: SessionServiceOptions = {}) {
  const box = opts.secretBox ?? null;
  const view = (r: SessionTable) => toSession(r, box);
  async function requireRow(accountId: string, name: string): Promise<SessionTable> {
    const row = await repo.findSessionByName(db, accountId, name);
    if (!row) throw new SessionNotFoundError();
    return row;
  }

  return {
    requireRow,

    async create(accountId: string, input: CreateSessionInput): Promise<Session> {
      if (input.proxy) await assertProxyAllowed(input.proxy, opts.proxyAllowPrivateNetworks ?? false);
      const now = clock.now().toISOString();
      const row: SessionTable = {
        id: newId('ses_'),
        account_id: accountId,
        name: input.name,
        status: 'DISCONNECTED',
        status_reason: null,
        phone_number: null,
        push_name: null,
        business_name: null,
        platform: null,
        lid: null,
        proxy: box ? sealProxy(box, input.proxy ?? null) : (input.proxy ?? null),
        config: input.config ? JSON.stringify(input.config) : null,
        desired_state: 'stopped',
        qr: null,
        created_at: now,
        updated_at: now,
      };
      if (await repo.findSessionByName(db, accountId, input.name)) throw new SessionExistsError(input.name);
      try {
        await repo.insertSession(db, row);
      } catch (err) {
        // Two concurrent creates: the unique constraint decides.
        if (await repo.findSessionByName(db, accountId, input.name)) throw new SessionExistsError(input.name);
        throw err;
      }
      return view(row);
    },

    async get(accountId: string, name: string): Promise<Session> {
      return view(await requireRow(accountId, name));
    },

    async list(accountId: string): Promise<Session[]> {
      return (await repo.listSessions(db, accountId)).map(view);
    },

    /**
     * Deletes the session; its media records (keys, thumbnails) go with it. With `deleteMedia`,
     * the stored objects are queued for the deletion worker in the same transaction.
     */
    async remove(accountId: string, name: string, opts: { deleteMedia?: boolean } = {}): Promise<void> {
      const row = await requireRow(accountId, name);
      await db.transaction().execute(async (trx) => {
        if (opts.deleteMedia) {
          const objects = await storedObjectsOfSession(trx, accountId, row.id);
          const now = clock.now().toISOString();
          await queueObjectDeletions(
            trx,
            objects.map((o) => ({ accountId, mediaId: null, bucket: o.s3_bucket!, key: o.s3_key! })),
            'session',
            now,
          );
        }
        if (!(await repo.deleteSession(trx, accountId, row.id))) throw new SessionNotFoundError();
      });
    },
  };
}
