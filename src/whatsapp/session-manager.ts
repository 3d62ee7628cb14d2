import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto/secret-box.js';
import { SessionNotFoundError } from '../errors.js';
import type { SessionStatusListener } from '../sessions/session-events.js';
import type { CreateSessionInput, Session, SessionService } from '../sessions/session-service.js';
import type { Db } from '../store/db.js';
import { findSessionById, updateSession } from '../store/repositories/sessions.js';
import type { SessionTable } from '../store/schema.js';
import { createCommandBus } from './command-bus.js';
import type { Ingest } from './ingest.js';
import { createKeyedLock } from './keyed-lock.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { createLocalOps } from './local-ops.js';
import { createMediaRecovery } from './media-recovery.js';
import { createMediaUpdateHandler } from './media-update.js';
import { createPairing } from './pairing.js';
import { startRunner, type RunnerDeps, type SessionRunner } from './session-runner.js';
import { runCommand, type CommandHandlers, type SessionCommand } from './session-command.js';
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

const ref = (r: Pick<SessionTable, 'id' | 'account_id' | 'name' | 'proxy'>) => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  proxy: r.proxy,
});

export type SessionManager = ReturnType<typeof createSessionManager>;

/**
 * Runs the WhatsApp sessions of this process: one Baileys socket each, held by a database lease
 * so that a session runs in exactly one process. Lifecycle operations reach the process running
 * the session wherever the request lands (see command-bus.ts and docs/sessions.md).
 */
export function createSessionManager(deps: SessionManagerDeps) {
  const { db, settings: cfg } = deps;
  const ownerId = deps.ownerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const log = deps.logger.child({ component: 'sessions' });
  const recordStatus = createStatusRecorder({ db, clock: deps.clock, listeners: deps.statusListeners ?? [] });
  const runners = new Map<string, SessionRunner>();
  const locked = createKeyedLock();
  const remoteTimeout = cfg.connectTimeoutMs + cfg.reuploadTimeoutMs;

  const runnerDeps: RunnerDeps = {
    ...deps,
    recordStatus,
    onMediaUpdate: createMediaUpdateHandler({ ...deps, cdnBaseUrl: cfg.cdnBaseUrl }),
    reconnect: { baseMs: cfg.reconnectBaseMs, maxMs: cfg.reconnectMaxMs },
    onEnded: (id) => {
      // Only the runner that ended: a restart may have put a new one in its place.
      if (runners.get(id)?.state !== 'ended') return;
      runners.delete(id);
      void leases.release(id).catch((err: unknown) => log.warn({ err }, 'could not release a session lease'));
    },
  };

  async function launch(
    row: Pick<SessionTable, 'id' | 'account_id' | 'name' | 'proxy'>,
    reason: 'AUTO_RECONNECT' | null,
  ): Promise<void> {
    const s = ref(row);
    await recordStatus(s, 'CONNECTING', reason, { qr: null, desired_state: 'running' });
    runners.set(s.id, startRunner(runnerDeps, s));
  }

  /** Runs the session here unless some process (this one included) already does. */
  async function ensureRunning(row: SessionTable): Promise<void> {
    await locked(row.id, async () => {
      if (runners.has(row.id)) return;
      const owner = await leases.owner(row.id);
      if (owner && owner !== ownerId) return;
      await leases.claim(row.id, () => launch(row, null));
    });
  }

  const leases = createLeaseKeeper({
    db,
    clock: deps.clock,
    logger: log,
    ownerId,
    leaseMs: cfg.leaseMs,
    renewMs: cfg.leaseRenewMs,
    held: () => [...runners.keys()],
    onClaimed: (s) => locked(s.id, async () => (runners.has(s.id) ? undefined : launch(s, 'AUTO_RECONNECT'))),
    onLost: (id) => {
      const r = runners.get(id);
      runners.delete(id);
      if (r) log.warn({ session: r.session.name }, 'lost the lease of a session: stopped it here');
      void r?.stop();
    },
  });

  /** Runs `command` where the session runs: here, in the lease owner's process, or here if nowhere. */
  async function dispatch<T>(row: SessionTable, command: SessionCommand, timeoutMs = remoteTimeout): Promise<T> {
    if (!runners.has(row.id)) {
      const owner = await leases.owner(row.id);
      if (owner && owner !== ownerId) return bus.send<T>(owner, row.id, command, timeoutMs);
    }
    return (await executeLocal(row.id, command)) as T;
  }

  const host = { runner: (id: string) => runners.get(id), dispatch, ensureRunning };
  const pairing = createPairing({ host, sessions: deps.sessions, connectTimeoutMs: cfg.connectTimeoutMs });
  const recovery = createMediaRecovery({ ...deps, host, timeoutMs: cfg.reuploadTimeoutMs });
  const ops = createLocalOps({
    ...deps,
    log,
    connectTimeoutMs: cfg.connectTimeoutMs,
    runners,
    leases,
    recordStatus,
    launch,
    spawn: (row) => startRunner(runnerDeps, ref(row)),
  });
  const bus = createCommandBus({
    db,
    clock: deps.clock,
    logger: log,
    ownerId,
    pollMs: cfg.commandPollMs,
    busy: () => runners.size > 0,
    execute: executeLocal,
  });

  // Where each command runs once it reached this process; lifecycle operations hold the session's lock.
  const handlers: CommandHandlers = {
    stop: (row) => locked(row.id, () => ops.stop(row)),
    restart: (row) => locked(row.id, () => ops.restart(row)),
    logout: (row) => locked(row.id, () => ops.logout(row)),
    'pair-code': (row, c) => pairing.pairCodeLocal(row, c.phoneNumber),
    reupload: (row, c) => recovery.reuploadLocal(row, c.mediaId),
  };

  async function executeLocal(id: string, command: SessionCommand): Promise<unknown> {
    const row = await findSessionById(db, id);
    if (!row) throw new SessionNotFoundError();
    return runCommand(handlers, row, command);
  }

  const rowOf = (accountId: string, name: string) => deps.sessions.requireRow(accountId, name);

  /** Starts the session (idempotent; a session running in another process stays there). */
  async function start(accountId: string, name: string): Promise<Session> {
    const row = await rowOf(accountId, name);
    await updateSession(db, row.id, { desired_state: 'running' });
    await ensureRunning(row);
    return deps.sessions.get(accountId, name);
  }

  return {
    ownerId,

    /** Creates a session record, and starts it when `start` is set. */
    async create(accountId: string, input: CreateSessionInput & { start?: boolean | undefined }): Promise<Session> {
      const session = await deps.sessions.create(accountId, input);
      return input.start ? start(accountId, session.name) : session;
    },

    start,

    /** Closes the connection (the device stays linked); the session stays stopped. */
    async stop(accountId: string, name: string): Promise<Session> {
      await dispatch(await rowOf(accountId, name), { kind: 'stop' });
      return deps.sessions.get(accountId, name);
    },

    /** Stops and starts again with the stored credentials. */
    async restart(accountId: string, name: string): Promise<Session> {
      const row = await rowOf(accountId, name);
      await updateSession(db, row.id, { desired_state: 'running' });
      await dispatch(row, { kind: 'restart' });
      return deps.sessions.get(accountId, name);
    },

    /** Unlinks the device from the WhatsApp account and wipes its credentials. */
    async logout(accountId: string, name: string): Promise<Session> {
      await dispatch(await rowOf(accountId, name), { kind: 'logout' });
      return deps.sessions.get(accountId, name);
    },

    /** Stops, logs out and deletes the session. */
    async remove(accountId: string, name: string, opts: { deleteMedia?: boolean } = {}): Promise<void> {
      await dispatch(await rowOf(accountId, name), { kind: 'logout' });
      await deps.sessions.remove(accountId, name, opts);
    },

    qr: pairing.qr,
    qrImage: pairing.qrImage,
    pairingCode: pairing.pairingCode,
    recoverExpired: recovery.recoverExpired,

    /** Starts the lease rounds (resuming sessions that should run) and the command poller. */
    async begin(): Promise<void> {
      bus.start();
      await leases.start();
    },

    /** Graceful shutdown: closes every socket without logging out; they resume on the next start. */
    async shutdown(): Promise<void> {
      await bus.stop();
      await leases.stop();
      await Promise.all(
        [...runners.values()].map((r) =>
          locked(r.session.id, async () => {
            runners.delete(r.session.id);
            await r.stop();
            await recordStatus(r.session, 'CONNECTING', 'AUTO_RECONNECT', { qr: null });
            await leases.release(r.session.id);
          }).catch((err: unknown) => log.warn({ err, session: r.session.name }, 'could not close a session cleanly')),
        ),
      );
    },
  };
}
