/**
 * Baileys, loaded on first use: its index costs ~65 MB of RSS that a server without sessions
 * never needs. Import types with `import type`; take values from `await loadBaileys()`.
 */
import type * as BaileysModule from '@whiskeysockets/baileys';
import type * as WAProtoModule from '@whiskeysockets/baileys/WAProto/index.js';

export type Baileys = typeof BaileysModule;
export type WAProto = typeof WAProtoModule;

let baileys: Promise<Baileys> | undefined;
let waProto: Promise<WAProto> | undefined;

/** The whole library (sockets, crypto helpers, protobufs); the first call imports it. */
export const loadBaileys = (): Promise<Baileys> => (baileys ??= import('@whiskeysockets/baileys'));

/**
 * Only the generated protobufs (~26 MB), for code that builds messages without a socket (the
 * simulator). The same module instance Baileys itself exports as `proto`.
 */
export const loadProto = (): Promise<WAProto> => (waProto ??= import('@whiskeysockets/baileys/WAProto/index.js'));
