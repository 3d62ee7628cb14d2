/**
 * "Work may be due": rung by whoever commits work (ingest), heard by workers built later. Only
 * a hint; each worker's poll interval is the guarantee.
 */
export function createWakeSignal() {
  const listeners: (() => void)[] = [];
  return {
    ring(): void {
      for (const l of listeners) l();
    },
    listen(fn: () => void): void {
      listeners.push(fn);
    },
  };
}

export type WakeSignal = ReturnType<typeof createWakeSignal>;
