/**
 * The peer, in its own process so its memory is measured apart: Baileys'
 * `downloadMediaMessage(msg, 'buffer')` from the CDN, then the buffer written to a file (what
 * the popular gateways do). Baileys decrypts only: it checks neither the MAC nor a hash.
 *
 * Talks to its parent over IPC: sends `ready` once loaded and warmed up (one 64 KiB ranged
 * download), waits for `go`, sends `done` with timings, then stays alive until the parent
 * disconnects (so the parent can read its VmHWM).
 * Usage (forked): peer-download.mjs '<json: {url, mediaKey (base64), mimetype, fileLength, out}>'
 */
import { writeFile } from 'node:fs/promises';
import { downloadMediaMessage, type WAMessage } from '@whiskeysockets/baileys';
import { pino } from 'pino';

export interface PeerJob {
  url: string;
  mediaKey: string;
  mimetype: string;
  fileLength: number;
  out: string;
}

export type PeerMessage = { type: 'ready' } | { type: 'done'; bytes: number; downloadMs: number; totalMs: number };

const send = (m: PeerMessage): void => void process.send?.(m);

const job = JSON.parse(process.argv[2] ?? '{}') as PeerJob;
const message: WAMessage = {
  key: { remoteJid: '15550009999@s.whatsapp.net', fromMe: false, id: '3EB0BENCHPEER' },
  messageTimestamp: Math.floor(Date.now() / 1000),
  message: {
    videoMessage: { url: job.url, mediaKey: Buffer.from(job.mediaKey, 'base64'), mimetype: job.mimetype, fileLength: job.fileLength },
  },
};
const ctx = {
  logger: pino({ level: 'silent' }),
  reuploadRequest: async (): Promise<WAMessage> => {
    throw new Error('The benchmark CDN never expires media.');
  },
};

process.once('message', () => {
  void (async () => {
    const started = performance.now();
    const buffer = await downloadMediaMessage(message, 'buffer', {}, ctx);
    const downloaded = performance.now();
    await writeFile(job.out, buffer);
    send({ type: 'done', bytes: buffer.length, downloadMs: downloaded - started, totalMs: performance.now() - started });
  })().catch((err: unknown) => {
    process.stderr.write(`peer download failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
});
process.once('disconnect', () => process.exit(0));
await downloadMediaMessage(message, 'buffer', { startByte: 0, endByte: 64 * 1024 }, ctx);
send({ type: 'ready' });
