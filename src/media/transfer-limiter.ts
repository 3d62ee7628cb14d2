import { BusyError } from '../errors.js';

/** Caps the media transfers in flight (MAX_CONCURRENT_TRANSFERS); over it callers get BUSY. */
export function createTransferLimiter(max: number) {
  let active = 0;
  return {
    get active() {
      return active;
    },
    /** Takes a slot or throws BusyError; the returned function frees it (idempotent). */
    acquire(): () => void {
      if (active >= max) throw new BusyError(1);
      active++;
      let released = false;
      return () => {
        if (!released) {
          released = true;
          active--;
        }
      };
    },
  };
}

export type TransferLimiter = ReturnType<typeof createTransferLimiter>;
