/**
 * Baileys' `DisconnectReason` codes (WhatsApp's own, so they do not move). A copy because the
 * enum lives in a module that pulls in the protobufs (~27 MB of RSS) at start-up;
 * test/whatsapp/disconnect-reason.test.ts checks it against Baileys.
 */
export const DisconnectReason = {
  connectionClosed: 428,
  connectionLost: 408,
  connectionReplaced: 440,
  timedOut: 408,
  loggedOut: 401,
  badSession: 500,
  restartRequired: 515,
  multideviceMismatch: 411,
  forbidden: 403,
  unavailableService: 503,
} as const;

/** Why a session is DISCONNECTED, as Titan reports it. */
export type StopReason = 'MANUAL_STOP' | 'QR_TIMEOUT' | 'LOGGED_OUT' | 'FAILED' | 'TEMPORARY_BAN' | 'STREAM_ERROR';

/** What to do after Baileys closed a connection. */
export type CloseAction =
  { action: 'reconnect'; immediate: boolean } | { action: 'stop'; reason: StopReason; wipeAuth: boolean };

/** WhatsApp's "temporarily banned" failure; Baileys passes it through without a name. */
const TEMPORARILY_BANNED = 402;
/** Outdated client; the account itself is fine, but retrying the same build will not help. */
const CLIENT_OUTDATED = 405;
/** "Unknown logout" / banned in WhatsApp Web's code. */
const BANNED = 406;

/** The status code Baileys put on `lastDisconnect.error` (a Boom), if any. */
export function disconnectCode(error: unknown): number | undefined {
  const code = (error as { output?: { statusCode?: unknown } } | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Maps a Baileys disconnect (DisconnectReason) to a status: transient drops reconnect, anything
 * that would fail again the same way stops the session with a reason. `awaitingQr`: a QR was
 * shown on this connection and never scanned, so a time-out means the QR expired.
 */
export function mapDisconnect(code: number | undefined, opts: { awaitingQr: boolean }): CloseAction {
  switch (code) {
    case DisconnectReason.loggedOut:
      return { action: 'stop', reason: 'LOGGED_OUT', wipeAuth: true };
    case TEMPORARILY_BANNED:
      return { action: 'stop', reason: 'TEMPORARY_BAN', wipeAuth: false };
    case DisconnectReason.forbidden:
    case CLIENT_OUTDATED:
    case BANNED:
    case DisconnectReason.multideviceMismatch:
      return { action: 'stop', reason: 'FAILED', wipeAuth: false };
    // Another client took over these credentials; reconnecting would fight it.
    case DisconnectReason.connectionReplaced:
      return { action: 'stop', reason: 'STREAM_ERROR', wipeAuth: false };
    // Baileys' "QR refs attempts ended" and a lost connection share 408 (timedOut/connectionLost).
    case DisconnectReason.timedOut:
      return opts.awaitingQr
        ? { action: 'stop', reason: 'QR_TIMEOUT', wipeAuth: false }
        : { action: 'reconnect', immediate: false };
    // Sent right after pairing and after some stream errors: reconnect at once, no backoff.
    case DisconnectReason.restartRequired:
      return { action: 'reconnect', immediate: true };
    // connectionClosed (428), badSession (500), unavailableService (503), network errors, unknown.
    default:
      return { action: 'reconnect', immediate: false };
  }
}

/** Delay before reconnect attempt `attempt` (1-based): exponential, capped, jittered between half and all of it. */
export function reconnectDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
