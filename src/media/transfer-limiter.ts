import { BusyError, ShuttingDownError } from '../errors.js';

/**
 * Caps the media transfers in flight: MAX_CONCURRENT_TRANSFERS in all, and
 * MAX_CONCURRENT_TRANSFERS_PER_ACCOUNT for any one account, so that one account (a backlog, or
 * a proxy that never answers) can never take every slot. Over either, callers get BUSY.
 */
export function createTransferLimiter(max: number, perAccount = max) {
  let active = 0;
  let closed = false;
  const byAccount = new Map<string, number>();
  return {
    get active() {
      return active;
    },
    /** Transfers in flight for one account. */
    activeFor(accountId: string): number {
      return byAccount.get(accountId) ?? 0;
    },
    /** Whether the account could take a slot now (auto-persist skips accounts that cannot). */
    hasRoom(accountId: string): boolean {
      return active < max && (byAccount.get(accountId) ?? 0) < perAccount;
    },
    /** Shutdown: every later acquire is refused with SHUTTING_DOWN. */
    close() {
      closed = true;
    },
    /** Takes a slot or throws BusyError; the returned function frees it (idempotent). */
    acquire(accountId: string): () => void {
      if (closed) throw new ShuttingDownError();
      const mine = byAccount.get(accountId) ?? 0;
      if (active >= max || mine >= perAccount) throw new BusyError(1);
      active++;
      byAccount.set(accountId, mine + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        active--;
        const left = (byAccount.get(accountId) ?? 1) - 1;
        if (left > 0) byAccount.set(accountId, left);
        else byAccount.delete(accountId);
      };
    },
  };
}

export type TransferLimiter = ReturnType<typeof createTransferLimiter>;
