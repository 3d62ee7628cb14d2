/**
 * The values of every enum column, shared by the row types and the domain types that name
 * them (re-exported where each belongs), so a stored value needs no cast to be used.
 */

/** The media kinds WhatsApp encrypts with a per-message `mediaKey` that this server handles. */
export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** A session's status as Titan reports it. */
export type SessionStatus = 'CONNECTING' | 'CONNECTED' | 'DISCONNECTED';
/** Whether a session should be connected (resumed on start) or stay stopped. */
export type DesiredState = 'running' | 'stopped';

/** How persisted media reach a downloader: streamed through us, or by redirect to the object URL. */
export type DownloadMode = 'stream' | 'redirect';

export const RETRY_POLICIES = ['exponential', 'linear', 'constant'] as const;
export type RetryPolicy = (typeof RETRY_POLICIES)[number];
export type DeliveryState = 'held' | 'pending' | 'delivered' | 'failed';

export type PersistJobState = 'pending' | 'done' | 'failed';

/** Requests one process makes of the process that runs a session. */
export type CommandKind = 'stop' | 'restart' | 'logout' | 'pair-code' | 'reupload';
export type CommandState = 'pending' | 'running' | 'done' | 'failed';
