import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** A local proxy that records where it was asked to connect. */
export interface TestProxy {
  /** `http://…` or `socks5://…`, with the credentials it requires. */
  url: string;
  /** `host:port` of every tunnel it opened, in order. */
  tunnels: string[];
  /** Requests refused for missing or wrong credentials. */
  refused: number;
  close(): Promise<void>;
}

const USER = 'media';
const PASS = 's3cret';

function pipeBoth(a: Socket, b: Socket) {
  a.pipe(b).on('error', () => a.destroy());
  b.pipe(a).on('error', () => b.destroy());
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

function listen(server: Server | ReturnType<typeof createHttpServer>, sockets: Set<Socket>) {
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function closer(server: Server | ReturnType<typeof createHttpServer>, sockets: Set<Socket>) {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** An HTTP proxy that tunnels with CONNECT and requires Basic credentials. */
export async function startConnectProxy(): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const server = createHttpServer((_req, res) => res.writeHead(405).end());
  const proxy: TestProxy = { url: '', tunnels: [], refused: 0, close: closer(server, sockets) };
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const expected = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
    if (req.headers['proxy-authorization'] !== expected) {
      proxy.refused++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    const [host, port] = [
      req.url!.slice(0, req.url!.lastIndexOf(':')),
      Number(req.url!.slice(req.url!.lastIndexOf(':') + 1)),
    ];
    proxy.tunnels.push(req.url!);
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      pipeBoth(client, upstream);
    });
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  });
  proxy.url = `http://${USER}:${PASS}@127.0.0.1:${await listen(server, sockets)}`;
  return proxy;
}

/** A SOCKS5 proxy (RFC 1928) that requires username/password authentication (RFC 1929). */
export async function startSocks5Proxy(): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const server = createTcpServer();
  const proxy: TestProxy = { url: '', tunnels: [], refused: 0, close: closer(server, sockets) };
  server.on('connection', (client) => {
    client.on('error', () => client.destroy());
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' = 'greeting';
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greeting') {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        const methods = buf.subarray(2, 2 + buf[1]!);
        buf = buf.subarray(2 + buf[1]!);
        if (!methods.includes(0x02)) {
          proxy.refused++;
          client.end(Buffer.from([0x05, 0xff]));
          return;
        }
        client.write(Buffer.from([0x05, 0x02]));
        stage = 'auth';
      }
      if (stage === 'auth') {
        if (buf.length < 2) return;
        const ulen = buf[1]!;
        if (buf.length < 3 + ulen) return;
        const plen = buf[2 + ulen]!;
        if (buf.length < 3 + ulen + plen) return;
        const user = buf.subarray(2, 2 + ulen).toString();
        const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
        buf = buf.subarray(3 + ulen + plen);
        if (user !== USER || pass !== PASS) {
          proxy.refused++;
          client.end(Buffer.from([0x01, 0x01]));
          return;
        }
        client.write(Buffer.from([0x01, 0x00]));
        stage = 'request';
      }
      if (stage === 'request') {
        if (buf.length < 5) return;
        const atyp = buf[3]!;
        const addrLen = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : 1 + buf[4]!;
        if (buf.length < 4 + addrLen + 2) return;
        const addr = buf.subarray(4, 4 + addrLen);
        const host = atyp === 0x01 ? [...addr].join('.') : atyp === 0x03 ? addr.subarray(1).toString() : '(ipv6)';
        const port = buf.readUInt16BE(4 + addrLen);
        const rest = buf.subarray(4 + addrLen + 2);
        client.off('data', onData);
        proxy.tunnels.push(`${host}:${port}`);
        const upstream = connect(port, host, () => {
          client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
          if (rest.length > 0) upstream.write(rest);
          pipeBoth(client, upstream);
        });
        upstream.on('error', () => client.end(Buffer.from([0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0])));
      }
    };
    client.on('data', onData);
  });
  proxy.url = `socks5h://${USER}:${PASS}@127.0.0.1:${await listen(server, sockets)}`;
  return proxy;
}
