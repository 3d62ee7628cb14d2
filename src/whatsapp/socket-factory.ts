import type { IncomingMessage } from 'node:http';
import type { Agent } from 'node:https';
import type { AuthenticationState, BaileysEventEmitter, Contact, WAMessage } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { loadBaileys } from './baileys.js';
import { DisconnectReason } from './disconnect-reason.js';

/**
 * The part of a Baileys socket the session manager uses. The real one comes from
 * `makeWASocket`; tests drive a fake with the same shape and events.
 */
export interface WaSocket {
  ev: Pick<BaileysEventEmitter, 'on' | 'off'>;
  /** The linked account (`creds.me`), once paired. */
  readonly user: Contact | undefined;
  /** Asks the sender's phone to upload the media again; resolves with the refreshed message. */
  updateMediaMessage(message: WAMessage): Promise<WAMessage>;
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Unlinks the device, then closes with DisconnectReason.loggedOut. */
  logout(msg?: string): Promise<void>;
  /** Closes the connection (the device stays linked). */
  end(error: Error | undefined): unknown;
}

export interface SocketOptions {
  /** The session the socket is for. */
  session: { id: string; name: string };
  auth: AuthenticationState;
  logger: Logger;
  /** The session's proxy, for the WebSocket and media uploads alike. */
  agent?: Agent | undefined;
}

export type SocketFactory = (opts: SocketOptions) => WaSocket | Promise<WaSocket>;

/**
 * The real factory: one Baileys socket per connection attempt. `waWebSocketUrl` replaces
 * WhatsApp's endpoint (a mock server, or a test's refusing one). Baileys is imported by the
 * first socket, not before (see baileys.ts).
 */
export function createBaileysSocketFactory(opts: { waWebSocketUrl?: string | undefined } = {}): SocketFactory {
  return async ({ auth, logger, agent }) => {
    const { makeCacheableSignalKeyStore, makeWASocket } = await loadBaileys();
    const sock = makeWASocket({
      // Cached so Baileys' many small key reads do not each hit the database.
      auth: { creds: auth.creds, keys: makeCacheableSignalKeyStore(auth.keys, logger) },
      logger,
      ...(agent ? { agent, fetchAgent: agent } : {}),
      ...(opts.waWebSocketUrl ? { waWebSocketUrl: opts.waWebSocketUrl } : {}),
      // Leave the phone's notifications alone, and do not pull years of history into ingest.
      markOnlineOnConnect: false,
      syncFullHistory: false,
      getMessage: async () => undefined,
    });
    // ws hands a refused upgrade (an HTTP answer instead of a protocol switch) to its
    // 'unexpected-response' listeners, and Baileys registers one that does nothing: the socket
    // would hang until the handshake timeout and then pass for a lost connection. End it now,
    // with a DisconnectReason: a 4xx will not change by retrying, anything else may.
    sock.ws.on('unexpected-response', (_req: unknown, res: IncomingMessage) => {
      res.resume();
      const status = res.statusCode ?? 0;
      const code = status >= 400 && status < 500 ? DisconnectReason.forbidden : DisconnectReason.unavailableService;
      const error = Object.assign(new Error(`The WhatsApp WebSocket upgrade was refused with HTTP ${status}.`), {
        output: { statusCode: code },
      });
      void sock.end(error);
    });
    return sock;
  };
}
