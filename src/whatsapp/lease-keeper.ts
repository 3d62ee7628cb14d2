import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Db } from '../store/db.js';
import * as repo from '../store/repositories/session-leases.js';

export interface OrphanedSession {
  id: string;
  account_id: string;
  name: string;
  proxy: string | null;
}

export interface LeaseKeeperDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  /** This process (and app instance): leases name it. */
  ownerId: string;
  leaseMs: number;
  renewMs: number;
  /** The sessions this process runs now. */
  held(): string[];
  /** A session that should run and that nobody holds was claimed here: run it. */
  onClaimed(session: OrphanedSession): Promise<void>;
  /** Another process holds the session now, or our lease may have run out: stop it, silently. */
  onLost(sessionId: string): void;
}

const CLAIMS_PER_TICK = 50;

/**
 * Keeps each session in exactly one process. Every `renewMs` it renews the leases it holds
 * (learning which it lost), then claims sessions that should run but whose lease is missing
 * or expired. If renewals keep failing (database unreachable), it stops its sessions before
 * their leases can expire, so another process that claims them never overlaps with this one.
 */
export function createLeaseKeeper(deps: LeaseKeeperDeps) {
  let interval: NodeJS.Timeout | undefined;
  let fence: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;
  const iso = (ms: number) => new Date(ms).toISOString();
  const now = () => deps.clock.now().getTime();
  // When our leases were last extended (each lease then runs until this + leaseMs).
  let renewedAt = now();

  // Stop everything one renewal before the leases could lapse, unless a renewal gets through.
  function armFence() {
    clearTimeout(fence);
    fence = setTimeout(() => {
      const held = deps.held();
      if (held.length > 0) deps.logger.warn({ sessions: held.length }, 'session leases could not be renewed: stopping this process\'s sessions');
      for (const id of held) deps.onLost(id);
    }, Math.max(0, renewedAt + deps.leaseMs - deps.renewMs - now()));
    fence.unref();
  }

  async function tick(): Promise<void> {
    const started = now();
    const held = deps.held();
    const kept = new Set(await repo.renewLeases(deps.db, deps.ownerId, held, iso(started + deps.leaseMs)));
    renewedAt = started;
    armFence();
    for (const id of held) if (!kept.has(id)) deps.onLost(id);
    for (const s of await repo.findOrphanedSessions(deps.db, iso(now()), CLAIMS_PER_TICK)) {
      if (await claim(s.id)) await deps.onClaimed(s).catch((err: unknown) => deps.logger.error({ err, session: s.name }, 'could not resume a session'));
    }
  }

  function runTick(): Promise<void> {
    ticking ??= tick()
      .catch((err: unknown) => deps.logger.error({ err }, 'session lease round failed'))
      .finally(() => (ticking = null));
    return ticking;
  }

  /** Claims a session for this process (a conditional write: false when another holds it). */
  async function claim(sessionId: string): Promise<boolean> {
    const t = now();
    const ok = await repo.claimLease(deps.db, sessionId, deps.ownerId, iso(t), iso(t + deps.leaseMs));
    if (ok) {
      if (deps.held().length === 0) renewedAt = t;
      armFence();
    }
    return ok;
  }

  return {
    claim,
    release: (sessionId: string) => repo.releaseLease(deps.db, sessionId, deps.ownerId).then(() => undefined),
    /** The process holding a live lease on the session, if any. */
    owner: (sessionId: string) => repo.liveOwner(deps.db, sessionId, iso(now())),
    /** Starts the rounds (the first one at once: sessions that were running come back). */
    start(): Promise<void> {
      interval ??= setInterval(() => void runTick(), deps.renewMs);
      return runTick();
    },
    async stop(): Promise<void> {
      clearInterval(interval);
      clearTimeout(fence);
      interval = undefined;
      await ticking;
    },
  };
}

export type LeaseKeeper = ReturnType<typeof createLeaseKeeper>;
