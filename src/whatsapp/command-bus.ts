import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { AppError, SessionUnreachableError } from '../errors.js';
import { newId } from '../ids.js';
import type { Db } from '../store/db.js';
import * as repo from '../store/repositories/session-commands.js';
import type { CommandKind } from '../store/enums.js';
import type { SessionCommandTable } from '../store/schema.js';
import {
  commandPayload,
  storedCommand,
  type CommandOf,
  type CommandResults,
  type SessionCommand,
} from './session-command.js';

export interface CommandBusDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  ownerId: string;
  pollMs: number;
  /** Whether this process runs any session (else there is nothing to poll for). */
  busy(): boolean;
  /** Runs a command addressed to this process. */
  execute(sessionId: string, command: SessionCommand): Promise<unknown>;
}

interface Failure {
  code: string;
  statusCode: number;
  message: string;
}

/**
 * Hands requests to the process that holds a session's lease, through the database: the
 * sender writes a command addressed to that owner and waits for its result; each owner polls
 * for commands addressed to it. Works alike on both dialects, with no extra infrastructure.
 */
export function createCommandBus(deps: CommandBusDeps) {
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | null = null;
  const at = () => deps.clock.now().toISOString();

  async function run(cmd: Pick<SessionCommandTable, 'id' | 'session_id' | 'kind' | 'payload'>): Promise<void> {
    if (!(await repo.transitionCommand(deps.db, cmd.id, 'pending', 'running', at()))) return;
    try {
      const result = await deps.execute(cmd.session_id, storedCommand(cmd.kind, cmd.payload));
      await repo.transitionCommand(deps.db, cmd.id, 'running', 'done', at(), JSON.stringify(result ?? null));
    } catch (err) {
      if (!(err instanceof AppError)) deps.logger.error({ err, kind: cmd.kind }, 'session command failed');
      const failure: Failure =
        err instanceof AppError
          ? { code: err.code, statusCode: err.statusCode, message: err.message }
          : { code: 'INTERNAL_ERROR', statusCode: 500, message: 'Internal server error.' };
      await repo.transitionCommand(deps.db, cmd.id, 'running', 'failed', at(), JSON.stringify(failure));
    }
  }

  async function poll(): Promise<void> {
    if (!deps.busy()) return;
    for (const cmd of await repo.pendingCommands(deps.db, deps.ownerId)) await run(cmd);
  }

  return {
    /**
     * Asks `owner` to run a command on a session and waits up to `timeoutMs` for the answer.
     * A failure comes back as the same error code, status and message.
     */
    async send<K extends CommandKind>(
      owner: string,
      sessionId: string,
      command: CommandOf<K>,
      timeoutMs: number,
    ): Promise<CommandResults[K]> {
      const id = newId('cmd_');
      await repo.insertCommand(deps.db, {
        id,
        session_id: sessionId,
        owner_id: owner,
        kind: command.kind,
        payload: commandPayload(command),
        state: 'pending',
        result: null,
        created_at: at(),
        updated_at: at(),
      });
      const deadline = Date.now() + timeoutMs;
      try {
        while (Date.now() < deadline) {
          await sleep(deps.pollMs);
          const row = await repo.findCommand(deps.db, id);
          if (!row) break;
          // Written by a process of this same code, from the handler of this kind.
          if (row.state === 'done') return JSON.parse(row.result ?? 'null') as CommandResults[K];
          if (row.state === 'failed') {
            const f = JSON.parse(row.result ?? '{}') as Failure;
            throw new AppError(f.code, f.statusCode, f.message);
          }
        }
        throw new SessionUnreachableError();
      } finally {
        await repo.deleteCommand(deps.db, id).catch(() => undefined);
      }
    },
    start() {
      timer ??= setInterval(() => {
        polling ??= poll()
          .catch((err: unknown) => deps.logger.error({ err }, 'polling session commands failed'))
          .finally(() => (polling = null));
      }, deps.pollMs);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await polling;
    },
  };
}

export type CommandBus = ReturnType<typeof createCommandBus>;
