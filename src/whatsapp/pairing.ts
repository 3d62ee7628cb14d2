import {
  PairingFailedError,
  QrNotAvailableError,
  SessionAlreadyPairedError,
  SessionUnreachableError,
} from '../errors.js';
import type { SessionService } from '../sessions/session-service.js';
import type { CommandHandlers } from './session-command.js';
import type { SessionHost } from './session-host.js';

/** Titan's bare QR answer: the code to scan, and what the session is doing. */
export interface QrState {
  qr: string | null;
  event: 'qr' | 'connecting' | 'connected' | 'disconnected';
}

/**
 * The pair-code command, as it runs in the process that holds the session: asks the socket for
 * a code once WhatsApp offered pairing (its first QR).
 */
export function pairCodeHandler(deps: { connectTimeoutMs: number }): Pick<CommandHandlers, 'pair-code'> {
  return {
    'pair-code': async ({ runner: r }, { phoneNumber }) => {
      if (!r) throw new SessionUnreachableError();
      const state = await r.waitFor(['qr', 'open'], deps.connectTimeoutMs).catch((err: unknown) => {
        throw new PairingFailedError(`WhatsApp did not offer pairing: ${(err as Error).message}`, { cause: err });
      });
      if (state === 'open' || r.paired) throw new SessionAlreadyPairedError();
      try {
        const socket = r.socket;
        // Closed again since it offered pairing: as refused as any other failure here.
        if (!socket) throw new Error('the connection closed');
        return { code: await socket.requestPairingCode(phoneNumber) };
      } catch (err) {
        throw new PairingFailedError(`WhatsApp refused the pairing code request: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}

/** Linking a WhatsApp account to a session: by QR code, or by a code typed on the phone. */
export function createPairing(deps: {
  host: Pick<SessionHost, 'ensureRunning' | 'dispatch'>;
  sessions: SessionService;
}) {
  /** The current QR, read from the session row: whichever process runs the session wrote it. */
  async function qr(accountId: string, name: string): Promise<QrState> {
    const row = await deps.sessions.requireRow(accountId, name);
    if (row.status === 'CONNECTING' && row.qr) return { qr: row.qr, event: 'qr' };
    return {
      qr: null,
      event: row.status === 'CONNECTED' ? 'connected' : row.status === 'CONNECTING' ? 'connecting' : 'disconnected',
    };
  }

  return {
    qr,

    /** The current QR as a PNG image. */
    qrImage: async (accountId: string, name: string): Promise<Buffer> => {
      const state = await qr(accountId, name);
      if (!state.qr) throw new QrNotAvailableError(state.event);
      // Loaded on first use: ~8 MB of RSS for a route most servers rarely serve.
      const { default: QRCode } = await import('qrcode');
      return QRCode.toBuffer(state.qr, { type: 'png', margin: 2, width: 320, errorCorrectionLevel: 'L' });
    },

    /**
     * Asks WhatsApp for an 8-character code to type on the phone (Linked devices → Link with
     * phone number). Starts the session when it is not running.
     */
    pairingCode: async (accountId: string, name: string, phoneNumber: string): Promise<{ code: string }> => {
      const row = await deps.sessions.requireRow(accountId, name);
      if (row.status === 'CONNECTED') throw new SessionAlreadyPairedError();
      await deps.host.ensureRunning(row);
      return deps.host.dispatch(row, { kind: 'pair-code', phoneNumber });
    },
  };
}
