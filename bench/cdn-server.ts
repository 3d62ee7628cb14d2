/**
 * The media CDN stand-in, run as its own process: serves one file from disk at any path, with
 * `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) and an ETag. Prints `{"port":N}` on stdout.
 * Usage: node cdn-server.mjs <file> [host]
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';

const file = process.argv[2];
const host = process.argv[3] ?? '127.0.0.1';
if (!file) throw new Error('usage: cdn-server <file> [host]');
const { size, mtimeMs } = statSync(file);
const etag = `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;

/** [start, end] inclusive, null when unsatisfiable; undefined without a usable Range. */
function parseRange(header: string | undefined): [number, number] | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const [start, end] =
    m[1] === ''
      ? [Math.max(0, size - Number(m[2])), size - 1]
      : [Number(m[1]), m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)];
  return start > end || start >= size ? null : [start, end];
}

const server = createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
  const range = parseRange(req.headers.range);
  if (range === null) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
  const [start, end] = range ?? [0, size - 1];
  res.writeHead(range ? 206 : 200, {
    'content-type': 'application/octet-stream',
    'content-length': String(end - start + 1),
    'accept-ranges': 'bytes',
    etag,
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) return void res.end();
  // Large reads keep the syscall count low; the file is normally in the page cache.
  pipeline(createReadStream(file, { start, end, highWaterMark: 1024 * 1024 }), res, () => undefined);
});

server.listen(0, host, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
