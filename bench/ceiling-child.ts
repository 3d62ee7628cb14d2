/**
 * The ceiling, in a process of its own: AES-256-CBC decrypt + HMAC-SHA256 + plaintext SHA-256
 * of the media file in a plain loop over 64 KiB chunks read from disk, no streams at all. A
 * fresh bare-node process for every pass, so what an earlier party left in the harness's heap
 * and allocator cannot speed it up or slow it down. One warm-up pass, then the measured one.
 * Usage: node ceiling-child.mjs '<CeilingJob as JSON>'; prints a CeilingResult as JSON.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createDecipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface CeilingJob {
  path: string;
  /** Ciphertext ‖ 10-byte MAC. */
  encLength: number;
  /** Hex: the keys derived from the media key, and the expected hashes. */
  iv: string;
  cipherKey: string;
  macKey: string;
  fileSha256: string;
  fileEncSha256: string;
  /** Also hash the encrypted file (the fileEncSha256 check). */
  encSha256: boolean;
}

export interface CeilingResult {
  seconds: number;
  cpuSeconds: number;
}

const MAC_LENGTH = 10;
// The size socket reads hand the server. With 1 MiB, every decipher output is a fresh mmap whose
// page faults halved the measured speed in a fresh process: an allocator artefact, not crypto.
const CHUNK = 64 * 1024;

function pass(job: CeilingJob): CeilingResult {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const decipher = createDecipheriv('aes-256-cbc', Buffer.from(job.cipherKey, 'hex'), Buffer.from(job.iv, 'hex'));
  const hmac = createHmac('sha256', Buffer.from(job.macKey, 'hex')).update(Buffer.from(job.iv, 'hex'));
  const hash = createHash('sha256');
  const encHash = job.encSha256 ? createHash('sha256') : null;
  const cipherLength = job.encLength - MAC_LENGTH;
  const buffer = Buffer.allocUnsafe(CHUNK);
  const mac = Buffer.alloc(MAC_LENGTH);
  const fd = openSync(job.path, 'r');
  try {
    for (let pos = 0; pos < cipherLength;) {
      const n = readSync(fd, buffer, 0, Math.min(CHUNK, cipherLength - pos), pos);
      if (n === 0) throw new Error('The media file is shorter than expected.');
      const chunk = buffer.subarray(0, n);
      hmac.update(chunk);
      encHash?.update(chunk);
      hash.update(decipher.update(chunk));
      pos += n;
    }
    readSync(fd, mac, 0, MAC_LENGTH, cipherLength);
  } finally {
    closeSync(fd);
  }
  hash.update(decipher.final());
  if (!timingSafeEqual(hmac.digest().subarray(0, MAC_LENGTH), mac)) throw new Error('MAC mismatch');
  if (hash.digest('hex') !== job.fileSha256) throw new Error('SHA-256 mismatch');
  if (encHash && encHash.update(mac).digest('hex') !== job.fileEncSha256) throw new Error('encrypted SHA-256 mismatch');
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

if (process.argv[2]) {
  const job = JSON.parse(process.argv[2]) as CeilingJob;
  pass(job);
  process.stdout.write(`${JSON.stringify(pass(job))}\n`);
}
