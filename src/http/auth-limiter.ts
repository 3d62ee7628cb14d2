/**
 * Failed authentications per client address (API keys and the master key alike): after `max`
 * failures within a window, every authenticated request from that address is answered 429
 * until the window ends, before any key is looked at, so guessing cannot go on at full speed.
 * Other addresses are unaffected. Kept in this process's memory (each process counts its own).
 */
export interface AuthLimiter {
  /** Seconds until `ip` may try again, or 0 when it may now. */
  retryAfter(ip: string): number;
  /** Counts one failed authentication from `ip`. */
  fail(ip: string): void;
}

// Bounds memory under a spray from many addresses: the oldest windows go first.
const MAX_TRACKED = 100_000;

export function createAuthLimiter(opts: { max: number; windowSeconds: number; now?: () => number }): AuthLimiter {
  const now = opts.now ?? Date.now;
  const windows = new Map<string, { failures: number; resetAt: number }>();
  const current = (ip: string) => {
    const w = windows.get(ip);
    if (w && w.resetAt <= now()) {
      windows.delete(ip);
      return undefined;
    }
    return w;
  };
  return {
    retryAfter(ip) {
      const w = current(ip);
      return w && w.failures >= opts.max ? Math.max(1, Math.ceil((w.resetAt - now()) / 1000)) : 0;
    },
    fail(ip) {
      const w = current(ip);
      if (w) {
        w.failures++;
        return;
      }
      if (windows.size >= MAX_TRACKED) windows.delete(windows.keys().next().value!);
      windows.set(ip, { failures: 1, resetAt: now() + opts.windowSeconds * 1000 });
    },
  };
}
