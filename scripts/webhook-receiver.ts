// A webhook receiver for trying titan-media locally: prints every delivery and checks its
// signature with the webhook's key.
//
//   npx tsx scripts/webhook-receiver.ts --secret <hmacKey> [--port 9009] [--exit-after N] [--timeout S]
//
// It listens on 127.0.0.1 only. `--exit-after N` exits 0 after N deliveries that verified (for
// scripts), `--timeout S` exits 1 when they have not arrived within S seconds. A delivery whose
// signature does not check out is answered 401, so the server retries it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    secret: { type: 'string' },
    port: { type: 'string', default: '9009' },
    'exit-after': { type: 'string' },
    timeout: { type: 'string' },
  },
});
if (!values.secret) {
  console.error('usage: webhook-receiver --secret <hmacKey> [--port 9009] [--exit-after N] [--timeout S]');
  process.exit(2);
}
const secret = values.secret;
const exitAfter = values['exit-after'] ? Number(values['exit-after']) : Infinity;

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** X-Webhook-Signature: `sha256=` + hex HMAC-SHA256(key, raw body). */
function verify(raw: Buffer, header: string | string[] | undefined): boolean {
  const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  return typeof header === 'string' && same(header, expected);
}

let verified = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const ok = verify(raw, req.headers['x-webhook-signature']);
    let event = '?';
    try {
      event = (JSON.parse(raw.toString('utf8')) as { event?: string }).event ?? '?';
    } catch {
      /* printed raw below */
    }
    console.log(
      `${new Date().toISOString()} ${req.method} ${req.url} ${event} id=${String(req.headers['x-webhook-id'])} signature ${ok ? 'ok' : 'INVALID'}`,
    );
    console.log(raw.toString('utf8'));
    const done = ok && ++verified >= exitAfter;
    res.writeHead(ok ? 204 : 401).end(() => done && process.exit(0));
  });
});
server.listen(Number(values.port), '127.0.0.1', () =>
  console.log(`webhook receiver on http://127.0.0.1:${values.port}/`),
);
if (values.timeout) {
  setTimeout(
    () => {
      console.error(`webhook receiver: ${verified} verified deliveries within ${values.timeout} s`);
      process.exit(1);
    },
    Number(values.timeout) * 1000,
  ).unref();
}
