import { z } from 'zod';
import type { CommandKind } from '../store/enums.js';
import type { SessionTable } from '../store/schema.js';

/**
 * What may be asked of the process that runs a session: here, or through the command bus in
 * the lease owner's process. Validated where it is read back from the database.
 */
export const SessionCommandSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('stop') }),
  z.object({ kind: z.literal('restart') }),
  z.object({ kind: z.literal('logout') }),
  z.object({ kind: z.literal('pair-code'), phoneNumber: z.string() }),
  z.object({ kind: z.literal('reupload'), mediaId: z.string() }),
]) satisfies z.ZodType<{ kind: CommandKind }>;

export type SessionCommand = z.infer<typeof SessionCommandSchema>;

/** One handler per command kind, each given its own command's fields. */
export type CommandHandlers = {
  [K in SessionCommand['kind']]: (row: SessionTable, command: Extract<SessionCommand, { kind: K }>) => Promise<unknown>;
};

/** Runs `command` with its handler (the switch only narrows the union for the compiler). */
export function runCommand(handlers: CommandHandlers, row: SessionTable, command: SessionCommand): Promise<unknown> {
  switch (command.kind) {
    case 'stop':
      return handlers.stop(row, command);
    case 'restart':
      return handlers.restart(row, command);
    case 'logout':
      return handlers.logout(row, command);
    case 'pair-code':
      return handlers['pair-code'](row, command);
    case 'reupload':
      return handlers.reupload(row, command);
  }
}

/** The command stored as a kind column and a JSON payload of its other fields. */
export const commandPayload = ({ kind: _kind, ...rest }: SessionCommand): string | null =>
  Object.keys(rest).length ? JSON.stringify(rest) : null;

/** The command a stored kind and payload describe; throws when they do not describe one. */
export const storedCommand = (kind: CommandKind, payload: string | null): SessionCommand =>
  SessionCommandSchema.parse({ ...(payload === null ? {} : (JSON.parse(payload) as object)), kind });
