import { SessionNotFoundError } from '../errors.js';
import { sessionRef } from '../sessions/session-events.js';
import type { CommandKind } from '../store/enums.js';
import { findSessionById } from '../store/repositories/sessions.js';
import type { SessionTable } from '../store/schema.js';
import { createCommandBus } from './command-bus.js';
import { createKeyedLock } from './keyed-lock.js';
import { createLeaseKeeper, type LeaseKeeperDeps } from './lease-keeper.js';
import {
  LIFECYCLE,
  type CommandHandlers,
  type CommandOf,
  type CommandResults,
  type SessionSlot,
} from './session-command.js';
import { startRunner, type RunnerDeps, type SessionRunner } from './session-runner.js';
import type { RecordStatus } from './session-status.js';

/** What a runner needs of a session row. */
type RunnableRow = Pick<SessionTable, 'id' | 'account_id' | 'name' | 'proxy'>;

/** The lease keeper's settings (its owner id names this process in commands too), and more. */
export interface SessionHostDeps extends Omit<LeaseKeeperDeps, 'held' | 'onClaimed' | 'onLost'> {
  commandPollMs: number;
  /** How long a request waits for the process that runs the session to answer it. */
  remoteTimeoutMs: number;
  recordStatus: RecordStatus;
  /** What each runner is started with, but its end: the host gives the lease back then. */
  runner: Omit<RunnerDeps, 'onEnded'>;
  /** Where each command runs once it reached this process (lifecycle ones under the session's lock). */
  handlers: CommandHandlers;
}

export type SessionHost = ReturnType<typeof createSessionHost>;

/**
 * The one owner of the sessions this process runs: their runners, the per-session lock of
 * lifecycle operations, the leases that keep each session in one process, and the command bus
 * that brings requests to that process. Command handlers reach a session only through the
 * slot the host hands them.
 */
export function createSessionHost(deps: SessionHostDeps) {
  const { db, ownerId, logger: log } = deps;
  const runners = new Map<string, SessionRunner>();
  const locked = createKeyedLock();

  const leases = createLeaseKeeper({
    ...deps,
    held: () => [...runners.keys()],
    onClaimed: (s) => locked(s.id, async () => (runners.has(s.id) ? undefined : launch(s, 'AUTO_RECONNECT'))),
    onLost: (id) => {
      const r = detach(id);
      if (r) log.warn({ session: r.session.name }, 'lost the lease of a session: stopped it here');
      void r?.stop();
    },
  });

  const bus = createCommandBus({
    db,
    clock: deps.clock,
    logger: log,
    ownerId,
    pollMs: deps.commandPollMs,
    busy: () => runners.size > 0,
    execute: executeLocal,
  });

  const runnerDeps: RunnerDeps = {
    ...deps.runner,
    // Under the session's lock, so a restart or a claim under way is either done or not begun.
    // A runner detached meanwhile (its lease renewal was late) still gives back a lease that is ours.
    onEnded: (id) =>
      void locked(id, async () => {
        // A restart, or a claim that is starting one, put a new runner in its place: it holds the lease.
        const current = runners.get(id);
        if ((current && current.state !== 'ended') || leases.starting(id)) return;
        runners.delete(id);
        await leases.release(id);
      }).catch((err: unknown) => log.warn({ err }, 'could not release a session lease')),
  };

  /** Starts a runner without recording a status; it counts as running here from now on. */
  function spawn(row: RunnableRow): SessionRunner {
    const r = startRunner(runnerDeps, { ...sessionRef(row), proxy: row.proxy });
    runners.set(row.id, r);
    return r;
  }

  async function launch(row: RunnableRow, reason: 'AUTO_RECONNECT' | null): Promise<void> {
    await deps.recordStatus(sessionRef(row), 'CONNECTING', reason, { qr: null, desired_state: 'running' });
    spawn(row);
  }

  function detach(id: string): SessionRunner | undefined {
    const r = runners.get(id);
    runners.delete(id);
    return r;
  }

  const slotOf = (row: SessionTable): SessionSlot => ({
    row,
    get runner() {
      return runners.get(row.id);
    },
    detach: () => detach(row.id),
    launch: () => launch(row, null),
    spawn: () => spawn(row),
    claim: (start) => leases.claim(row.id, start),
    release: () => leases.release(row.id),
  });

  async function executeLocal<K extends CommandKind>(id: string, command: CommandOf<K>): Promise<CommandResults[K]> {
    const row = await findSessionById(db, id);
    if (!row) throw new SessionNotFoundError();
    const run = () => deps.handlers[command.kind](slotOf(row), command);
    return LIFECYCLE[command.kind] ? locked(row.id, run) : run();
  }

  return {
    ownerId,

    /** Runs the session here unless some process (this one included) already does. */
    async ensureRunning(row: SessionTable): Promise<void> {
      await locked(row.id, async () => {
        if (runners.has(row.id)) return;
        const owner = await leases.owner(row.id);
        if (owner && owner !== ownerId) return;
        await leases.claim(row.id, () => launch(row, null));
      });
    },

    /** Runs `command` where the session runs: here, in the lease owner's process, or here if nowhere. */
    async dispatch<K extends CommandKind>(row: SessionTable, command: CommandOf<K>): Promise<CommandResults[K]> {
      if (!runners.has(row.id)) {
        const owner = await leases.owner(row.id);
        if (owner && owner !== ownerId) return bus.send(owner, row.id, command, deps.remoteTimeoutMs);
      }
      return executeLocal(row.id, command);
    },

    /** Starts the lease rounds (resuming sessions that should run) and the command poller. */
    async begin(): Promise<void> {
      bus.start();
      await leases.start();
    },

    /** Graceful shutdown: closes every socket without logging out; they resume on the next start. */
    async shutdown(): Promise<void> {
      await bus.stop();
      await leases.stop();
      await Promise.all(
        [...runners.values()].map((r) =>
          locked(r.session.id, async () => {
            runners.delete(r.session.id);
            await r.stop();
            await deps.recordStatus(r.session, 'CONNECTING', 'AUTO_RECONNECT', { qr: null });
            await leases.release(r.session.id);
          }).catch((err: unknown) => log.warn({ err, session: r.session.name }, 'could not close a session cleanly')),
        ),
      );
    },
  };
}
