/** Runs functions one at a time per key (a session's lifecycle operations, in this process). */
export function createKeyedLock() {
  const tails = new Map<string, Promise<unknown>>();
  return function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    tails.set(key, run);
    // Forget the key once its last operation settled.
    void run.finally(() => tails.get(key) === run && tails.delete(key)).catch(() => undefined);
    return run;
  };
}
