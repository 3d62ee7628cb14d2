/**
 * A fake of Baileys' socket with the same interface and events (connection.update with
 * qr/open/close and a Boom carrying a DisconnectReason, creds.update, messages.upsert,
 * messages.media-update), driven by the tests, plus the phone on the other side (pairing,
 * media re-upload). Injected through buildApp's `socketFactory`.
 */
import { EventEmitter } from 'node:events';
import { Boom } from '@hapi/boom';
import {
  proto,
  type AuthenticationState,
  type BaileysEventMap,
  type Contact,
  type WAMessage,
} from '@whiskeysockets/baileys';
import type { SocketFactory, SocketOptions, WaSocket } from '../../src/whatsapp/socket-factory.js';

/** The account a fake phone links. */
export const ACCOUNT = {
  id: '4917012345678:7@s.whatsapp.net',
  lid: '123456789012345:7@lid',
  name: 'Shop Owner',
  verifiedName: 'Acme Shop GmbH',
  platform: 'smba',
};

export class FakeSocket implements WaSocket {
  readonly ev: WaSocket['ev'];
  readonly auth: AuthenticationState;
  readonly session: { id: string; name: string };
  readonly createdAt = Date.now();
  endedAt: number | null = null;
  loggedOut = false;
  pairingPhone: string | null = null;
  private readonly emitter = new EventEmitter();

  constructor(
    opts: SocketOptions,
    private readonly wa: FakeWhatsApp,
  ) {
    this.auth = opts.auth;
    this.session = opts.session;
    this.ev = {
      on: (event, listener) => void this.emitter.on(event, listener as (arg: unknown) => void),
      off: (event, listener) => void this.emitter.off(event, listener as (arg: unknown) => void),
    };
  }

  get ended() {
    return this.endedAt !== null;
  }

  get user(): Contact | undefined {
    return this.auth.creds.me;
  }

  emit<E extends keyof BaileysEventMap>(event: E, arg: BaileysEventMap[E]) {
    this.emitter.emit(event, arg);
  }

  showQr(qr = `2@fake-qr-${Math.random().toString(36).slice(2)}`) {
    this.emit('connection.update', { qr });
    return qr;
  }

  /** The phone scanned the QR: credentials of a linked device, then the connection opens. */
  pair(account = ACCOUNT, opts: { open?: boolean } = {}) {
    const creds = this.auth.creds;
    creds.me = { id: account.id, lid: account.lid, name: account.name, verifiedName: account.verifiedName };
    creds.account = { details: Buffer.from('fake'), accountSignature: Buffer.from('sig') };
    creds.platform = account.platform;
    creds.registered = true;
    this.emit('creds.update', creds);
    if (opts.open !== false) this.open();
  }

  /** As WhatsApp pairs: the credentials, then a restartRequired close; the next socket logs in. */
  pairAndRestart(account = ACCOUNT) {
    this.pair(account, { open: false });
    this.close(515, 'Stream Errored (restart required)');
  }

  open() {
    this.emit('connection.update', { connection: 'open' });
  }

  /** The connection closes with a DisconnectReason (a Boom), as Baileys reports it. */
  close(statusCode?: number, message = 'Connection Failure') {
    if (this.ended) return;
    this.endedAt = Date.now();
    const error = statusCode === undefined ? undefined : new Boom(message, { statusCode });
    this.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  }

  upsert(messages: WAMessage[], type: 'notify' | 'append' = 'notify') {
    this.emit('messages.upsert', { messages, type });
  }

  updateMediaMessage(message: WAMessage): Promise<WAMessage> {
    return this.wa.phone.reupload(message);
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    this.pairingPhone = phoneNumber;
    this.auth.creds.pairingCode = 'FAKE1234';
    this.emit('creds.update', this.auth.creds);
    return 'FAKE1234';
  }

  async logout(): Promise<void> {
    this.loggedOut = true;
    this.close(401, 'Intentional Logout');
  }

  end(error: Error | undefined) {
    if (this.ended) return;
    this.endedAt = Date.now();
    this.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date() } });
  }
}

export interface FakePhone {
  /** What the sender's phone does when asked to upload a media again (default: never answers). */
  reupload(message: WAMessage): Promise<WAMessage>;
}

export class FakeWhatsApp {
  readonly sockets: FakeSocket[] = [];
  phone: FakePhone = { reupload: () => new Promise<never>(() => undefined) };
  /** On a new socket: a paired session opens, an unpaired one shows a QR (as WhatsApp does). */
  autoConnect = true;

  readonly factory: SocketFactory = (opts) => {
    const s = new FakeSocket(opts, this);
    this.sockets.push(s);
    if (this.autoConnect) {
      setImmediate(() => {
        if (s.ended) return;
        if (s.auth.creds.account) s.open();
        else s.showQr();
      });
    }
    return s;
  };

  /** Sockets of a session, oldest first. */
  of(sessionName: string): FakeSocket[] {
    return this.sockets.filter((s) => s.session.name === sessionName);
  }

  /** The newest socket of a session. */
  latest(sessionName: string): FakeSocket {
    const all = this.of(sessionName);
    if (all.length === 0) throw new Error(`no socket for session ${sessionName}`);
    return all[all.length - 1]!;
  }

  /** Sockets not ended. */
  live(sessionName?: string): FakeSocket[] {
    return this.sockets.filter((s) => !s.ended && (sessionName === undefined || s.session.name === sessionName));
  }
}

/** Polls `check` until it holds (or fails with `what`). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what = 'condition',
  timeoutMs = 5000,
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A WAMessage as Baileys delivers it (protobuf class, byte fields as buffers). */
export function waMessage(json: Record<string, unknown>): WAMessage {
  return proto.WebMessageInfo.fromObject(json) as WAMessage;
}

/**
 * Fast timings for the session machinery in tests. The leases are steady: long enough that a busy
 * machine's stall does not move a session mid-test. Tests of lapses and failover use FAST_LEASES.
 */
export const FAST_SESSIONS: Record<string, string> = {
  SESSION_LEASE_MS: '2000',
  SESSION_LEASE_RENEW_MS: '200',
  SESSION_RECONNECT_BASE_MS: '10',
  SESSION_RECONNECT_MAX_MS: '40',
  SESSION_CONNECT_TIMEOUT_MS: '1500',
  SESSION_COMMAND_POLL_MS: '20',
  MEDIA_REUPLOAD_TIMEOUT_MS: '300',
  // Tests poll the API while they wait.
  RATE_LIMIT_MAX: '100000',
};

/** Leases that lapse within a second: for tests of failover between processes. */
export const FAST_LEASES: Record<string, string> = { SESSION_LEASE_MS: '600', SESSION_LEASE_RENEW_MS: '150' };
