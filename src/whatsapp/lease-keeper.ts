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
 * A session claimed here whose start is still under way is renewed too: its lease must not lapse
 * before it shows up among the running ones.
 *
 * Renewal never waits behind claiming: starting claimed sessions can be slow, and a renewal
 * stuck behind it would let the fence stop every session this process runs.
 */
export function createLeaseKeeper(deps: LeaseKeeperDeps) {
  let interval: NodeJS.Timeout | undefined;
  let fence: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | null = null;
  let claiming: Promise<void> | null = null;
  const iso = (ms: number) => new Date(ms).toISOString();
  const now = () => deps.clock.now().getTime();
  // When each lease we hold runs out, as far as we know: claimed or last renewed, plus leaseMs.
  const expires = new Map<string, number>();
  // Claimed here and being started: renewed like the running ones.
  const starting = new Set<string>();

  const ours = () => [...new Set([...deps.held(), ...starting.keys()])];

  // Fires one renewal before the first of our leases could lapse; see fenced().
  function armFence() {
    clearTimeout(fence);
    const t = now();
    const held = new Set(deps.held());
    const delays = ours().map((id) => {
      const left = (expires.get(id) ?? 0) - deps.renewMs - t;
      // A start under way cannot be stopped yet: look again once it may be running.
      return left > 0 || held.has(id) ? Math.max(0, left) : deps.renewMs;
    });
    if (delays.length === 0) return;
    fence = setTimeout(fenced, Math.min(...delays));
    fence.unref();
  }

  // Stops the sessions whose lease we could not renew in time, so that another process that
  // claims them once they lapse never overlaps with this one.
  function fenced() {
    const t = now();
    const due = deps.held().filter((id) => (expires.get(id) ?? 0) - deps.renewMs <= t);
    if (due.length > 0)
      deps.logger.warn({ sessions: due.length }, 'session leases could not be renewed: stopping those sessions here');
    for (const id of due) lost(id);
    armFence();
  }

  function lost(id: string) {
    expires.delete(id);
    starting.delete(id);
    deps.onLost(id);
  }

  async function renew(): Promise<void> {
    const started = now();
    const held = deps.held();
    const kept = new Set(await repo.renewLeases(deps.db, deps.ownerId, ours(), iso(started + deps.leaseMs)));
    for (const id of kept) expires.set(id, started + deps.leaseMs);
    // Lost: held when the round began, not renewed, and not claimed again since.
    const still = new Set(deps.held());
    for (const id of held)
      if (!kept.has(id) && still.has(id) && (expires.get(id) ?? 0) <= started + deps.leaseMs) lost(id);
    armFence();
  }

  async function claimOrphans(): Promise<void> {
    for (const s of await repo.findOrphanedSessions(deps.db, iso(now()), CLAIMS_PER_TICK)) {
      await claim(s.id, () => deps.onClaimed(s)).catch((err: unknown) =>
        deps.logger.error({ err, session: s.name }, 'could not resume a session'),
      );
    }
  }

  function runRenew(): Promise<void> {
    renewing ??= renew()
      .catch((err: unknown) => deps.logger.error({ err }, 'session lease renewal failed'))
      .finally(() => (renewing = null));
    return renewing;
  }

  function runClaims(): Promise<void> {
    claiming ??= claimOrphans()
      .catch((err: unknown) => deps.logger.error({ err }, 'claiming orphaned sessions failed'))
      .finally(() => (claiming = null));
    return claiming;
  }

  /** A round: renew first, then claim (unless the last round's claims are still being started). */
  async function round(): Promise<void> {
    await runRenew();
    await runClaims();
  }

  /**
   * Claims a session for this process (a conditional write: false when another holds it). When
   * it wins, `start` makes the session one of `held()`; its lease is renewed while it does.
   */
  async function claim(sessionId: string, start: () => Promise<void> | void): Promise<boolean> {
    const t = now();
    if (!(await repo.claimLease(deps.db, sessionId, deps.ownerId, iso(t), iso(t + deps.leaseMs)))) return false;
    expires.set(sessionId, t + deps.leaseMs);
    starting.add(sessionId);
    try {
      await start();
    } finally {
      starting.delete(sessionId);
      armFence();
    }
    return true;
  }

  return {
    claim,
    release: async (sessionId: string) => {
      expires.delete(sessionId);
      starting.delete(sessionId);
      await repo.releaseLease(deps.db, sessionId, deps.ownerId);
    },
    /** Claimed here and still being started. */
    starting: (sessionId: string) => starting.has(sessionId),
    /** The process holding a live lease on the session, if any. */
    owner: (sessionId: string) => repo.liveOwner(deps.db, sessionId, iso(now())),
    /** Starts the rounds (the first one at once: sessions that were running come back). */
    start(): Promise<void> {
      interval ??= setInterval(() => void round(), deps.renewMs);
      return round();
    },
    async stop(): Promise<void> {
      clearInterval(interval);
      interval = undefined;
      await Promise.all([renewing, claiming]);
      clearTimeout(fence);
    },
  };
}

export type LeaseKeeper = ReturnType<typeof createLeaseKeeper>;
