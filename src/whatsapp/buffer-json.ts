/**
 * JSON with Buffers, in exactly the format of Baileys' `BufferJSON` ({ type: 'Buffer', data:
 * base64 }; the reviver also reads a Buffer's default `toJSON` shape and index-keyed byte
 * objects), so stored auth state and messages stay readable by either. A local copy because
 * ingest runs it on every message and importing Baileys for it costs ~65 MB of RSS.
 */
export function bufferReplacer(_key: string, value: unknown): unknown {
  if (
    Buffer.isBuffer(value) ||
    value instanceof Uint8Array ||
    (value as { type?: unknown } | null | undefined)?.type === 'Buffer'
  ) {
    const v = value as Uint8Array | { data?: unknown };
    const bytes = (v as { data?: unknown }).data || v;
    return { type: 'Buffer', data: Buffer.from(bytes as Uint8Array).toString('base64') };
  }
  return value;
}

export function bufferReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    if (o.type === 'Buffer' && typeof o.data === 'string') return Buffer.from(o.data, 'base64');
    if (!Array.isArray(value)) {
      const keys = Object.keys(o);
      if (keys.length > 0 && keys.every((k) => !isNaN(parseInt(k, 10)))) {
        const values = Object.values(o);
        if (values.every((v) => typeof v === 'number')) return Buffer.from(values);
      }
    }
  }
  return value;
}
