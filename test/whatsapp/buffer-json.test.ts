import { BufferJSON } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { bufferReplacer, bufferReviver } from '../../src/whatsapp/buffer-json.js';

// Shapes Baileys stores: Buffers, Uint8Arrays, nested, arrays, index-keyed byte objects, nulls.
const samples: unknown[] = [
  { a: Buffer.from([1, 2, 3]), b: new Uint8Array([250, 0, 7]), s: 'text', n: 5, z: null, u: undefined },
  { nested: { key: { pub: Buffer.alloc(32, 9), priv: new Uint8Array(32).fill(3) } }, list: [Buffer.from('x'), 1, 'y'] },
  { empty: Buffer.alloc(0), obj: {}, arr: [] },
  Buffer.from('top level'),
  { already: { type: 'Buffer', data: 'AQID' } },
];

describe('local BufferJSON', () => {
  it("serialises exactly as Baileys' BufferJSON.replacer", () => {
    for (const v of samples) expect(JSON.stringify(v, bufferReplacer)).toBe(JSON.stringify(v, BufferJSON.replacer));
  });

  it("revives exactly as Baileys' BufferJSON.reviver, its output and older shapes alike", () => {
    const texts = [
      ...samples.map((v) => JSON.stringify(v, BufferJSON.replacer)),
      JSON.stringify({ plain: Buffer.from([4, 5]) }), // a Buffer's own toJSON: { type, data: [numbers] }
      JSON.stringify({ indexed: { 0: 1, 1: 2, 2: 255 }, notBytes: { 0: 'a' }, mixed: { 0: 1, x: 2 } }),
    ];
    for (const t of texts) {
      const ours = JSON.parse(t, bufferReviver) as unknown;
      expect(ours).toEqual(JSON.parse(t, BufferJSON.reviver));
      expect(JSON.stringify(ours, bufferReplacer)).toBe(
        JSON.stringify(JSON.parse(t, BufferJSON.reviver), BufferJSON.replacer),
      );
    }
    expect(JSON.parse(JSON.stringify({ k: Buffer.from([1, 2]) }, bufferReplacer), bufferReviver)).toEqual({
      k: Buffer.from([1, 2]),
    });
  });
});
