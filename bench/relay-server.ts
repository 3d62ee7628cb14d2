/**
 * The relay, run as its own process: a plain HTTP server that fetches the CDN file with undici
 * and pipes it to its client, with no crypto at all: what relaying the bytes alone costs in
 * Node on this machine, next to which the download route's decrypting and verifying is judged.
 * Prints `{"port":N}` on stdout. Usage: node relay-server.mjs <file url on the CDN>
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { request } from 'undici';

const target = process.argv[2];
if (!target) throw new Error('usage: relay-server <file url>');

const server = createServer((req, res) => {
  req.resume();
  const headers: Record<string, string> = {};
  if (req.headers.range) headers.range = req.headers.range;
  request(target, { headers }).then(
    (up) => {
      res.writeHead(up.statusCode, {
        'content-type': 'application/octet-stream',
        'content-length': String(up.headers['content-length']),
      });
      pipeline(up.body, res, () => undefined);
    },
    (err: unknown) => res.writeHead(502).end(String(err)),
  );
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
