import { DisconnectReason } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import {
  DisconnectReason as LocalReason,
  mapDisconnect,
  reconnectDelay,
} from '../../src/whatsapp/disconnect-reason.js';

describe('disconnect reasons and backoff', () => {
  it("the local copy of DisconnectReason matches Baileys' enum", () => {
    const baileys = Object.fromEntries(Object.entries(DisconnectReason).filter(([k]) => Number.isNaN(Number(k))));
    expect(LocalReason).toEqual(baileys);
  });

  it('a 408 is a QR timeout only while a QR was waiting to be scanned', () => {
    expect(mapDisconnect(DisconnectReason.timedOut, { awaitingQr: true })).toEqual({
      action: 'stop',
      reason: 'QR_TIMEOUT',
      wipeAuth: false,
    });
    expect(mapDisconnect(DisconnectReason.connectionLost, { awaitingQr: false })).toEqual({
      action: 'reconnect',
      immediate: false,
    });
  });

  it('restartRequired reconnects at once; unknown codes reconnect with backoff', () => {
    expect(mapDisconnect(DisconnectReason.restartRequired, { awaitingQr: false })).toEqual({
      action: 'reconnect',
      immediate: true,
    });
    expect(mapDisconnect(599, { awaitingQr: false })).toEqual({ action: 'reconnect', immediate: false });
  });

  it('backs off exponentially with jitter, between half and all of the capped delay', () => {
    expect([1, 2, 3, 4].map((n) => reconnectDelay(n, 1000, 60_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3].map((n) => reconnectDelay(n, 1000, 60_000, () => 0))).toEqual([500, 1000, 2000]);
    expect(reconnectDelay(40, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
