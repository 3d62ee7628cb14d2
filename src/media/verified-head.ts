import { Readable } from 'node:stream';

/**
 * Reads up to `limit` bytes of `source` before anything is sent. A file that ends within the
 * limit is thus fully verified (MAC included) before its first byte goes out, so its failures
 * still become a JSON error; longer files start streaming after the head, and a late failure
 * can only abort the transfer. Returns `source` itself with the head put back in front (no extra
 * stream on the hot path), or, for a file that already ended, a stream of its bytes.
 */
export async function withVerifiedHead(source: Readable, limit: number): Promise<Readable> {
  const head: Buffer[] = [];
  let size = 0;
  const ended = await new Promise<boolean>((resolve, reject) => {
    const finish = (value: boolean | Error) => {
      source.off('readable', onReadable).off('end', onEnd).off('error', onError).off('close', onClose);
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onReadable = () => {
      for (let chunk: Buffer | null; size < limit && (chunk = source.read() as Buffer | null) !== null;) {
        head.push(chunk);
        size += chunk.length;
      }
      if (size >= limit) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = (err: Error) => finish(err);
    const onClose = () => finish(source.errored ?? new Error('The media stream closed before its first bytes.'));
    source.on('readable', onReadable).once('end', onEnd).once('error', onError).once('close', onClose);
  });
  // 'end' may also have fired just after the last read, once the listener was off; either way
  // the stream ended and its every byte (verified) is in `head`.
  if (ended || source.readableEnded) return Readable.from(head, { objectMode: false });
  for (let i = head.length - 1; i >= 0; i--) source.unshift(head[i]);
  return source;
}
