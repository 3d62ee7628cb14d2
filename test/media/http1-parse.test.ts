import { describe, expect, it } from 'vitest';
import { BodyFramer, type Framing, parseResponseHead } from '../../src/media/http1-parse.js';

/** Feeds `wire` in pieces of `step` bytes; returns the body, the bytes after it, and the first error. */
function frame(framing: Framing, wire: Buffer, step: number) {
  const framer = new BodyFramer(framing);
  const parts: Buffer[] = [];
  // The framer hands out subarrays of its input: copied here, as a consumer that keeps them must.
  const sink = { deliver: (c: Buffer) => parts.push(Buffer.from(c)) };
  let extra = 0;
  for (let i = 0; i < wire.length; i += step) {
    const r = framer.feed(wire.subarray(i, i + step), sink);
    if (r instanceof Error) return { error: r, body: Buffer.concat(parts), extra, complete: framer.complete };
    extra += r;
  }
  return { error: null, body: Buffer.concat(parts), extra, complete: framer.complete };
}

describe('parseResponseHead', () => {
  it('reads the status, lower-cases names, keeps repeated headers as an array', () => {
    const head = parseResponseHead(
      'HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nContent-Range: bytes 0-4/10\r\nX-A: 1\r\nx-a:  2 ',
    );
    expect(head).toEqual({
      statusCode: 206,
      headers: { 'content-length': '5', 'content-range': 'bytes 0-4/10', 'x-a': ['1', '2'] },
      framing: { kind: 'length', length: 5 },
      keepAlive: true,
    });
  });

  it.each([
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9', { kind: 'chunked' }, true],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip', { kind: 'close' }, false],
    ['HTTP/1.1 200 OK', { kind: 'close' }, false],
    ['HTTP/1.1 204 No Content', { kind: 'length', length: 0 }, true],
    ['HTTP/1.1 304 Not Modified\r\nContent-Length: 100', { kind: 'length', length: 0 }, true],
    ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close', { kind: 'length', length: 3 }, false],
    ['HTTP/1.0 200 OK\r\nContent-Length: 3', { kind: 'length', length: 3 }, false],
    ['HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: Keep-Alive', { kind: 'length', length: 3 }, true],
    ['HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7', { kind: 'length', length: 7 }, true],
  ])('%j → framing %j, keep-alive %s', (text, framing, keepAlive) => {
    expect(parseResponseHead(text)).toMatchObject({ framing, keepAlive });
  });

  it.each([
    'HTTP/2 200',
    'HTTP/1.1 2000 OK',
    'ICY 200 OK',
    'HTTP/1.1 200 OK\r\nno colon here',
    'HTTP/1.1 200 OK\r\nbad name: x',
    'HTTP/1.1 200 OK\r\nContent-Length: -1',
    'HTTP/1.1 200 OK\r\nContent-Length: 1, 2',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6',
  ])('%j is refused', (text) => {
    expect(parseResponseHead(text)).toBeInstanceOf(Error);
  });
});

describe('BodyFramer', () => {
  const payload = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.');
  const chunked = Buffer.concat([
    Buffer.from('a;name=value\r\n'),
    payload.subarray(0, 10),
    Buffer.from('\r\n2E\r\n'),
    payload.subarray(10),
    Buffer.from('\r\n0\r\nX-Trailer: yes\r\n\r\n'),
  ]);

  it.each([1, 2, 3, 7, 1000])('chunked, fed %i byte(s) at a time: exactly the payload, then complete', (step) => {
    expect(payload.length).toBe(10 + 0x2e);
    const r = frame({ kind: 'chunked' }, chunked, step);
    expect(r).toMatchObject({ error: null, extra: 0, complete: true });
    expect(r.body.equals(payload)).toBe(true);
  });

  it('bytes after the last chunk are counted, not delivered', () => {
    const r = frame({ kind: 'chunked' }, Buffer.concat([chunked, Buffer.from('HTTP/1.1 200 OK\r\n')]), 1000);
    expect(r.body.equals(payload)).toBe(true);
    expect(r.extra).toBe(17);
  });

  it.each([
    ['a size that is not hex', 'zz\r\nhello\r\n0\r\n\r\n'],
    ['chunk data longer than its size', '2\r\nhello\r\n0\r\n\r\n'],
    ['an overlong size line', `${'1'.repeat(5000)}\r\n`],
  ])('%s is an error', (_what, wire) => {
    expect(frame({ kind: 'chunked' }, Buffer.from(wire), 3).error).toBeInstanceOf(Error);
  });

  it('a length body stops at its length and reports the rest', () => {
    const r = frame({ kind: 'length', length: 20 }, payload, 6);
    expect(r.body.equals(payload.subarray(0, 20))).toBe(true);
    expect(r).toMatchObject({ complete: true, extra: payload.length - 20 });
  });

  it('a body until close takes everything and is never complete by itself', () => {
    const r = frame({ kind: 'close' }, payload, 5);
    expect(r.body.equals(payload)).toBe(true);
    expect(r.complete).toBe(false);
  });
});
