import type { FastifyInstance } from 'fastify';

/** What shutdown stops, in the order it stops them. */
export interface ShutdownSteps {
  /** Refuse new transfers (SHUTTING_DOWN). */
  refuseTransfers(): void;
  /** Abort persists and auto-persist runs at once (their uploads aborted, jobs given back). */
  abortPersists(): Promise<void>;
  /** After in-flight requests ended: workers, adapters, the store. */
  release(): Promise<void>;
}

/**
 * Shutdown aborts, then waits: `preClose` runs before Fastify waits for in-flight requests, so
 * persists stop at once while downloads keep the grace. Every response finished while closing
 * ends its connection, so the server has no idle keep-alive socket to wait for (a client's, or
 * our own to the simulated CDN).
 */
export function registerShutdownOrder(app: FastifyInstance, steps: ShutdownSteps): void {
  let closing = false;
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('preClose', async () => {
    closing = true;
    steps.refuseTransfers();
    await steps.abortPersists();
  });
  app.addHook('onClose', async () => steps.release());
}
