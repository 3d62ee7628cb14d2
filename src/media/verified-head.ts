import { Readable } from 'node:stream';

/**
 * Reads up to `limit` bytes of `source` before anything is sent. A file that ends within the
 * limit is thus fully verified (MAC included) before its first byte goes out, so its failures
 * still become a JSON error; longer files start streaming after the head, and a late failure
 * can only abort the transfer. Returns a stream of the head followed by the rest.
 */
export async function withVerifiedHead(source: Readable, limit: number): Promise<Readable> {
  const iterator: AsyncIterator<Buffer> = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < limit) {
    const r = await iterator.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    size += r.value.length;
  }
  async function* replay() {
    yield* head;
    if (done) return;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  }
  const out = Readable.from(replay(), { objectMode: false, highWaterMark: 64 * 1024 });
  // Tear the source down (and with it the CDN request) when the consumer goes away.
  out.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return out;
}
