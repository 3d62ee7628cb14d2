import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

// A file at the top of src/ is a unit of its own (app.ts wires everything; errors.ts is a leaf).
const unitOf = (file: string) => {
  const r = relative(SRC, file);
  return r.includes('/') ? r.split('/')[0]! : r;
};

describe('architecture', () => {
  it('construction runs one way: no folder of src/ imports one that imports it back', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of sources(SRC)) {
      const from = unitOf(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const to = unitOf(resolve(dirname(file), m[1]!));
        if (to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    expect(edges.size).toBeGreaterThan(8);
    const both = [...edges].flatMap(([a, tos]) =>
      [...tos].filter((b) => a < b && edges.get(b)?.has(a)).map((b) => `${a} <-> ${b}`),
    );
    expect(both).toEqual([]);
  });

  it('only storage/ touches the S3 SDK', () => {
    const outside = sources(SRC).filter((f) => unitOf(f) !== 'storage' && /@aws-sdk\//.test(readFileSync(f, 'utf8')));
    expect(outside.map((f) => relative(SRC, f))).toEqual([]);
  });
});
