import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { SessionStatusListener } from '../sessions/session-events.js';
import type { CreateSessionInput, Session, SessionService } from '../sessions/session-service.js';
import type { Db } from '../store/db.js';
import { updateSession } from '../store/repositories/sessions.js';
import type { Ingest } from './ingest.js';
import { createMediaRecovery, reuploadHandler } from './media-recovery.js';
import { createMediaUpdateHandler } from './media-update.js';
import { createPairing, pairCodeHandler } from './pairing.js';
import { createSessionHost } from './session-host.js';
import { lifecycleHandlers } from './session-lifecycle.js';
import { createStatusRecorder } from './session-status.js';
import type { SocketFactory } from './socket-factory.js';

/** The session timings of the config, plus the prefix of a refreshed `directPath` (MEDIA_CDN_BASE_URL). */
export type WhatsappSettings = Config['whatsapp'] & { cdnBaseUrl: string };

export interface SessionManagerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  secretBox: SecretBox;
  sessions: SessionService;
  socketFactory: SocketFactory;
  ingest: Ingest;
  /** Called inside the transaction of every status change (the webhook outbox hooks in here). */
  statusListeners?: SessionStatusListener[];
  settings: WhatsappSettings;
  /** Names this process in session leases; unique per app instance by default. */
  ownerId?: string;
  /** SESSION_PROXY_ALLOW_PRIVATE_NETWORKS, handed to the runners. */
  proxyAllowPrivateNetworks?: boolean;
}

export type SessionManager = ReturnType<typeof createSessionManager>;

/**
 * The public face of the WhatsApp sessions: the operations of the API, each routed by the
 * session host to the process that runs the session (see session-host.ts and docs/sessions.md).
 * Built in one direction: status recorder → command handlers → host → pairing and recovery
 * requests.
 */
export function createSessionManager(deps: SessionManagerDeps) {
  const { db, settings: cfg } = deps;
  const log = deps.logger.child({ component: 'sessions' });
  const recordStatus = createStatusRecorder({ db, clock: deps.clock, listeners: deps.statusListeners ?? [] });
  const host = createSessionHost({
    db,
    clock: deps.clock,
    logger: log,
    ownerId: deps.ownerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    leaseMs: cfg.leaseMs,
    renewMs: cfg.leaseRenewMs,
    commandPollMs: cfg.commandPollMs,
    remoteTimeoutMs: cfg.connectTimeoutMs + cfg.reuploadTimeoutMs,
    recordStatus,
    runner: {
      ...deps,
      recordStatus,
      onMediaUpdate: createMediaUpdateHandler({ ...deps, cdnBaseUrl: cfg.cdnBaseUrl }),
      reconnect: { baseMs: cfg.reconnectBaseMs, maxMs: cfg.reconnectMaxMs },
    },
    handlers: {
      ...lifecycleHandlers({ ...deps, log, connectTimeoutMs: cfg.connectTimeoutMs, recordStatus }),
      ...pairCodeHandler({ connectTimeoutMs: cfg.connectTimeoutMs }),
      ...reuploadHandler({ ...deps, timeoutMs: cfg.reuploadTimeoutMs }),
    },
  });
  const pairing = createPairing({ host, sessions: deps.sessions });
  const recovery = createMediaRecovery({ db, host });

  const rowOf = (accountId: string, name: string) => deps.sessions.requireRow(accountId, name);

  /** Starts the session (idempotent; a session running in another process stays there). */
  async function start(accountId: string, name: string): Promise<Session> {
    const row = await rowOf(accountId, name);
    await updateSession(db, row.id, { desired_state: 'running' });
    await host.ensureRunning(row);
    return deps.sessions.get(accountId, name);
  }

  return {
    ownerId: host.ownerId,

    /** Creates a session record, and starts it when `start` is set. */
    async create(accountId: string, input: CreateSessionInput & { start?: boolean | undefined }): Promise<Session> {
      const session = await deps.sessions.create(accountId, input);
      return input.start ? start(accountId, session.name) : session;
    },

    start,

    /** Closes the connection (the device stays linked); the session stays stopped. */
    async stop(accountId: string, name: string): Promise<Session> {
      await host.dispatch(await rowOf(accountId, name), { kind: 'stop' });
      return deps.sessions.get(accountId, name);
    },

    /** Stops and starts again with the stored credentials. */
    async restart(accountId: string, name: string): Promise<Session> {
      const row = await rowOf(accountId, name);
      await updateSession(db, row.id, { desired_state: 'running' });
      await host.dispatch(row, { kind: 'restart' });
      return deps.sessions.get(accountId, name);
    },

    /** Unlinks the device from the WhatsApp account and wipes its credentials. */
    async logout(accountId: string, name: string): Promise<Session> {
      await host.dispatch(await rowOf(accountId, name), { kind: 'logout' });
      return deps.sessions.get(accountId, name);
    },

    /** Stops, logs out and deletes the session. */
    async remove(accountId: string, name: string, opts: { deleteMedia?: boolean } = {}): Promise<void> {
      await host.dispatch(await rowOf(accountId, name), { kind: 'logout' });
      await deps.sessions.remove(accountId, name, opts);
    },

    qr: pairing.qr,
    qrImage: pairing.qrImage,
    pairingCode: pairing.pairingCode,
    recoverExpired: recovery.recoverExpired,

    /** Starts the lease rounds (resuming sessions that should run) and the command poller. */
    begin: () => host.begin(),
    /** Graceful shutdown: closes every socket without logging out; they resume on the next start. */
    shutdown: () => host.shutdown(),
  };
}
