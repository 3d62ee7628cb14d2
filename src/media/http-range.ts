/** A single byte range resolved against a known size. */
export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type RangeRequest =
  { kind: 'none' } | { kind: 'range'; start: number; end: number | null } | { kind: 'suffix'; length: number };

/**
 * Parses a `Range` header. Only one `bytes` range is served; anything else (several ranges,
 * other units, bad syntax) is ignored and the whole file is sent, as RFC 9110 allows.
 */
export function parseRangeHeader(header: string | undefined): RangeRequest {
  if (!header) return { kind: 'none' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' };
  if (m[1] === '') return { kind: 'suffix', length: Number(m[2]) };
  const start = Number(m[1]);
  const end = m[2] === '' ? null : Number(m[2]);
  if (end !== null && end < start) return { kind: 'none' };
  return { kind: 'range', start, end };
}

/** The bytes a range selects from `size` bytes, or null when it is unsatisfiable (→ 416). */
export function resolveRange(r: Exclude<RangeRequest, { kind: 'none' }>, size: number): ByteRange | null {
  if (r.kind === 'suffix') {
    if (r.length === 0 || size === 0) return null;
    return { start: Math.max(0, size - r.length), end: size - 1 };
  }
  if (r.start >= size) return null;
  return { start: r.start, end: Math.min(r.end ?? size - 1, size - 1) };
}
