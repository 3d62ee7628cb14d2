import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedS3Request {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Base64 SHA-256 of the body as it arrived (what `x-amz-checksum-sha256` must say). */
  bodySha256: string;
  bodyLength: number;
}

export interface S3Recorder {
  /** The endpoint to give the server instead of the real one. */
  endpoint: string;
  requests: RecordedS3Request[];
  close(): Promise<void>;
}

/**
 * A relay in front of the real S3 gateway that records every request. With `verify`, it also
 * does what a store with flexible checksums does and the test gateway does not: it refuses a
 * request whose `x-amz-checksum-sha256` does not match its body (400 BadDigest) before relaying.
 * `delayMs` holds every request that long (a slow store).
 */
export async function startS3Recorder(
  upstream: string,
  opts: { verify?: boolean; delayMs?: number } = {},
): Promise<S3Recorder> {
  const target = new URL(upstream);
  const requests: RecordedS3Request[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const bodySha256 = createHash('sha256').update(body).digest('base64');
      requests.push({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        bodySha256,
        bodyLength: body.length,
      });
      const claimed = req.headers['x-amz-checksum-sha256'];
      if (opts.verify && typeof claimed === 'string' && claimed !== bodySha256) {
        res
          .writeHead(400, { 'content-type': 'application/xml' })
          .end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>BadDigest</Code><Message>checksum mismatch</Message></Error>',
          );
        return;
      }
      setTimeout(relay, opts.delayMs ?? 0);
    });
    function relay() {
      const body = Buffer.concat(chunks);
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
