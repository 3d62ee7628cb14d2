import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Relay {
  /** `http://127.0.0.1:PORT`, forwarding to the target. */
  endpoint: string;
  /** Stops moving bytes either way, and holds new connections unanswered: a hung server. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a real server that can freeze like a SIGSTOPped process: sockets stay
 * open, nothing is read or written, so the client's writes back up in the kernel and its reads
 * wait. (The S3 gateway is shared by the suite, so it is never stopped itself.)
 */
export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  let frozen = false;
  const pairs = new Set<[Socket, Socket | null]>();
  const held: (() => void)[] = [];

  function link(from: Socket, to: Socket) {
    from.on('data', (d: Buffer) => {
      if (!to.write(d)) from.pause();
    });
    to.on('drain', () => {
      if (!frozen) from.resume();
    });
    from.on('error', () => to.destroy());
    from.on('close', () => to.destroy());
  }

  const server = createServer((client) => {
    const pair: [Socket, Socket | null] = [client, null];
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
    const connect = () => {
      const upstream = createConnection(target);
      pair[1] = upstream;
      link(client, upstream);
      link(upstream, client);
    };
    if (frozen) {
      client.pause();
      held.push(connect);
    } else connect();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
      for (const [a, b] of pairs) {
        a.pause();
        b?.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const [a, b] of pairs) {
        a.resume();
        b?.resume();
      }
      for (const c of held.splice(0)) c();
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
