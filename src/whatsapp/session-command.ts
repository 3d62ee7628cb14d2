import { z } from 'zod';
import type { CommandKind } from '../store/enums.js';
import type { SessionTable } from '../store/schema.js';
import type { SessionRunner } from './session-runner.js';

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

// The fields of each kind, as the schema has them (a kind without a schema does not compile).
type CommandFields = { [C in z.infer<typeof SessionCommandSchema> as C['kind']]: Omit<C, 'kind'> };

/** The command of kind `K` (of any kind by default); written so that handlers[c.kind](c) type-checks. */
export type CommandOf<K extends CommandKind = CommandKind> = { [P in K]: { kind: P } & CommandFields[P] }[K];

export type SessionCommand = CommandOf;

/** What each command answers (crossing processes as JSON). */
export interface CommandResults {
  stop: void;
  restart: void;
  logout: void;
  'pair-code': { code: string };
  /** The media's new location on the CDN, after the sender's phone uploaded it again. */
  reupload: { directPath: string | null; url: string | null };
}

/** A session as a command handler finds it in the process that runs the command. */
export interface SessionView {
  readonly row: SessionTable;
  /** Its runner in this process, if it runs here. */
  readonly runner: SessionRunner | undefined;
}

/**
 * What a lifecycle command may do with its session, holding the session's lock: the session
 * host's operations on its runner and lease, for this one session.
 */
export interface SessionSlot extends SessionView {
  /** Takes the runner out of this process's running set; the caller stops it, then releases the lease. */
  detach(): SessionRunner | undefined;
  /** Records CONNECTING and runs the session here, on a lease this process holds. */
  launch(): Promise<void>;
  /** Runs the session here without recording a status (a logout needs a connection). */
  spawn(): SessionRunner;
  /** Claims the session's lease; `start` runs when this process won it (see LeaseKeeper.claim). */
  claim(start: () => Promise<void> | void): Promise<boolean>;
  /** Gives the session's lease back. */
  release(): Promise<void>;
}

/**
 * Which commands change what runs: they hold the session's lock, and get its slot. The others
 * wait on a socket (a QR, a phone's answer) and must not hold up a stop, so they only look.
 */
export const LIFECYCLE = {
  stop: true,
  restart: true,
  logout: true,
  'pair-code': false,
  reupload: false,
} as const satisfies Record<CommandKind, boolean>;

type Access = { [K in CommandKind]: (typeof LIFECYCLE)[K] extends true ? SessionSlot : SessionView };

/** One handler per command kind, each given its own command's fields and answering its own result. */
export type CommandHandlers = {
  [K in CommandKind]: (session: Access[K], command: CommandOf<K>) => Promise<CommandResults[K]>;
};

/** The command stored as a kind column and a JSON payload of its other fields. */
export const commandPayload = ({ kind: _kind, ...rest }: { kind: CommandKind }): string | null =>
  Object.keys(rest).length ? JSON.stringify(rest) : null;

/** The command a stored kind and payload describe; throws when they do not describe one. */
export const storedCommand = (kind: CommandKind, payload: string | null): SessionCommand =>
  SessionCommandSchema.parse({ ...(payload === null ? {} : (JSON.parse(payload) as object)), kind });
