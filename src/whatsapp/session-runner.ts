import type { BaileysEventMap, ConnectionState } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db } from '../store/db.js';
import { deleteAuth } from '../store/repositories/wa-auth.js';
import { accountFields, NO_ACCOUNT } from './account-fields.js';
import { loadDbAuthState, type DbAuthState } from './auth-state.js';
import { disconnectCode, mapDisconnect, reconnectDelay, type StopReason } from './disconnect-reason.js';
import type { Ingest } from './ingest.js';
import { openProxy } from '../sessions/session-proxy.js';
import { createProxyAgent } from './proxy-agent.js';
import type { RecordStatus, SessionRef } from './session-status.js';
import type { SocketFactory, WaSocket } from './socket-factory.js';

export interface RunnerDeps {
  db: Db;
  secretBox: SecretBox;
  clock: Clock;
  logger: Logger;
  socketFactory: SocketFactory;
  recordStatus: RecordStatus;
  ingest: Ingest;
  onMediaUpdate(session: SessionRef, updates: BaileysEventMap['messages.media-update']): Promise<void>;
  reconnect: { baseMs: number; maxMs: number };
  /** SESSION_PROXY_ALLOW_PRIVATE_NETWORKS (the address policy for proxies). */
  proxyAllowPrivateNetworks?: boolean;
  /** The runner ended by itself (logged out, QR expired, failed, …): give its lease back. */
  onEnded(sessionId: string): void;
}

/** `open`: connected; `qr`: socket up, waiting to be paired; `ended`: stopped for good. */
export type RunnerState = 'connecting' | 'qr' | 'open' | 'ended';

export type SessionRunner = ReturnType<typeof startRunner>;

/** Runs one session: a socket per connection attempt, its events, reconnects with backoff. */
export function startRunner(deps: RunnerDeps, session: SessionRef & { proxy: string | null }) {
  const log = deps.logger.child({ session: session.name });
  let state: RunnerState = 'connecting';
  let sock: WaSocket | null = null;
  let auth: DbAuthState | null = null;
  let attempts = 0;
  let awaitingQr = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  const closed = new Set<() => void>();
  const watchers = new Set<() => void>();
  // Status and credential writes keep their order; so do the messages of one session.
  let writes: Promise<unknown> = Promise.resolve();
  let inbox: Promise<unknown> = Promise.resolve();
  const serial = (chain: 'writes' | 'inbox', what: string, fn: () => Promise<unknown>) => {
    const run = (chain === 'writes' ? writes : inbox)
      .then(fn)
      .catch((err: unknown) => log.error({ err }, `could not ${what}`));
    if (chain === 'writes') writes = run;
    else inbox = run;
    return run;
  };
  const setState = (s: RunnerState) => {
    state = s;
    for (const w of watchers) w();
  };
  const record: RecordStatus = (ref, status, reason, fields) =>
    serial('writes', 'record the session status', () => deps.recordStatus(ref, status, reason, fields)).then(
      () => undefined,
    );

  async function connect(): Promise<void> {
    // Credentials saved by the previous socket (pairing ends with a restartRequired) come first.
    await writes;
    if (stopping) return;
    try {
      auth = await loadDbAuthState(deps, session.id);
      const proxy = openProxy(deps.secretBox, session.proxy);
      const agent = proxy ? await createProxyAgent(proxy, deps.proxyAllowPrivateNetworks ?? false) : undefined;
      if (stopping) return;
      const s = await deps.socketFactory({
        session: { id: session.id, name: session.name },
        auth: auth.state,
        logger: baileysLogger(log),
        agent,
      });
      // Stopped while the socket was being made (the first one imports Baileys): close it unseen.
      if (stopping) return void Promise.resolve(s.end(undefined)).catch(() => undefined);
      sock = s;
      awaitingQr = false;
      s.ev.on('connection.update', (u) => onConnection(s, u));
      s.ev.on('creds.update', () => void serial('writes', 'save the credentials', () => auth!.saveCreds()));
      s.ev.on('messages.upsert', ({ messages }) => {
        for (const m of messages) void serial('inbox', 'ingest a message', () => deps.ingest(session, m));
      });
      s.ev.on(
        'messages.media-update',
        (updates) => void serial('inbox', 'apply a media update', () => deps.onMediaUpdate(session, updates)),
      );
    } catch (err) {
      log.error({ err }, 'could not start the WhatsApp connection');
      await end('FAILED', {});
    }
  }

  function onConnection(s: WaSocket, u: Partial<ConnectionState>): void {
    if (s !== sock) return;
    if (u.qr) {
      awaitingQr = true;
      void record(session, 'CONNECTING', 'SCAN_QR', { qr: u.qr });
      setState('qr');
    }
    if (u.connection === 'open') {
      attempts = 0;
      awaitingQr = false;
      void record(session, 'CONNECTED', null, { qr: null, ...accountFields(s.user, auth!.state.creds) });
      setState('open');
    }
    if (u.connection === 'close') {
      sock = null;
      for (const c of closed) c();
      if (stopping) return;
      const code = disconnectCode(u.lastDisconnect?.error);
      const next = mapDisconnect(code, { awaitingQr });
      log.info({ code, next }, 'WhatsApp connection closed');
      if (next.action === 'stop') return void end(next.reason, next.wipeAuth ? NO_ACCOUNT : {}, next.wipeAuth);
      attempts++;
      setState('connecting');
      void record(session, 'CONNECTING', 'AUTO_RECONNECT', { qr: null });
      const delay = next.immediate ? 0 : reconnectDelay(attempts, deps.reconnect.baseMs, deps.reconnect.maxMs);
      timer = setTimeout(() => void connect(), delay);
    }
  }

  /** Stops for good by itself: records why, wipes the credentials after a logout. */
  async function end(reason: StopReason, fields: Parameters<RecordStatus>[3], wipe = false): Promise<void> {
    stopping = true;
    if (wipe) await serial('writes', 'wipe the credentials', () => deleteAuth(deps.db, session.id));
    await record(session, 'DISCONNECTED', reason, { ...fields, qr: null, desired_state: 'stopped' });
    setState('ended');
    deps.onEnded(session.id);
  }

  /** Resolves once the current socket reported its close (or after a grace period). */
  function socketClosed(graceMs = 3000): Promise<void> {
    if (!sock) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        closed.delete(done);
        resolve();
      };
      const t = setTimeout(done, graceMs);
      closed.add(done);
    });
  }

  void connect();

  return {
    session,
    get state() {
      return state;
    },
    get socket() {
      return state === 'ended' ? null : sock;
    },
    get paired() {
      return Boolean(auth?.state.creds.me?.id && auth.state.creds.account);
    },

    /** Waits until the runner is in one of `states`; rejects when it ends first or on timeout. */
    waitFor(states: RunnerState[], timeoutMs: number): Promise<RunnerState> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (states.includes(state)) finish(() => resolve(state));
          else if (state === 'ended') finish(() => reject(new Error('The session stopped.')));
        };
        const finish = (f: () => void) => {
          clearTimeout(t);
          watchers.delete(check);
          f();
        };
        const t = setTimeout(
          () => finish(() => reject(new Error('Timed out waiting for the WhatsApp connection.'))),
          timeoutMs,
        );
        watchers.add(check);
        check();
      });
    },

    /** Closes the connection without unlinking the device; writes no status (the caller does). */
    async stop(): Promise<void> {
      stopping = true;
      clearTimeout(timer);
      const s = sock;
      const wait = socketClosed();
      if (s) void Promise.resolve(s.end(undefined)).catch(() => undefined);
      await wait;
      sock = null;
      setState('ended');
      await writes;
    },

    /** Unlinks the device when connected, then stops; the credentials are wiped either way. */
    async logout(): Promise<boolean> {
      const s = state === 'open' ? sock : null;
      let unlinked = false;
      if (s) {
        stopping = true;
        const wait = socketClosed();
        unlinked = await s.logout().then(
          () => true,
          (err: unknown) => (log.warn({ err }, 'could not unlink the device'), false),
        );
        await wait;
      }
      await this.stop();
      await deleteAuth(deps.db, session.id);
      return unlinked;
    },
  };
}

/** Baileys is chatty: its lines go out at warn and above unless our level asks for more. */
function baileysLogger(log: Logger): Logger {
  const level =
    log.levels.values[log.level] !== undefined && log.levels.values[log.level]! > log.levels.values.warn!
      ? log.level
      : 'warn';
  return log.child({ module: 'baileys' }, { level });
}
