import { TransferCancelledError } from '../errors.js';

export type SessionTransfers = ReturnType<typeof createSessionTransfers>;

/**
 * The transfers (downloads and persists) running in this process, by session, so that stopping
 * or deleting a session cancels its own at once instead of leaving them to their deadlines.
 */
export function createSessionTransfers() {
  const running = new Map<string, Set<AbortController>>();
  const keyOf = (accountId: string, session: string) => `${accountId}/${session}`;
  return {
    /** A controller aborted when `parent` aborts or the session is cancelled; `done()` forgets it. */
    track(
      accountId: string,
      session: string,
      parent?: AbortSignal,
    ): { signal: AbortSignal; controller: AbortController; done: () => void } {
      const controller = new AbortController();
      const onParent = () => controller.abort(parent?.reason);
      if (parent?.aborted) onParent();
      else parent?.addEventListener('abort', onParent, { once: true });
      const key = keyOf(accountId, session);
      let set = running.get(key);
      if (!set) running.set(key, (set = new Set()));
      set.add(controller);
      return {
        signal: controller.signal,
        controller,
        done() {
          parent?.removeEventListener('abort', onParent);
          set.delete(controller);
          if (set.size === 0 && running.get(key) === set) running.delete(key);
        },
      };
    },
    /** Aborts every transfer of the session with TRANSFER_CANCELLED. */
    cancel(accountId: string, session: string): number {
      const set = running.get(keyOf(accountId, session));
      for (const c of set ?? []) c.abort(new TransferCancelledError());
      return set?.size ?? 0;
    },
  };
}
