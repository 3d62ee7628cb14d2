import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

// Like Fastify's own check: the error catalogue and docs/errors.md stay in step, both ways.
describe('error catalogue', () => {
  it('documents every code the source can produce, and no code that no longer exists', () => {
    const inSource = new Set<string>();
    for (const file of sources(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:super|new AppError)\(\s*'([A-Z][A-Z0-9_]+)'/g)) inSource.add(m[1]!);
    }
    const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const inDocs = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
    expect(inSource.size).toBeGreaterThan(20);
    expect(
      [...inSource].filter((c) => !inDocs.has(c)),
      'codes missing from docs/errors.md',
    ).toEqual([]);
    expect(
      [...inDocs].filter((c) => !inSource.has(c)),
      'documented codes that no longer exist',
    ).toEqual([]);
  });

  it('throws every code it defines: each error class is constructed somewhere outside the catalogue', () => {
    const catalogue = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8');
    const classes = [
      ...catalogue.matchAll(/export class (\w+) extends AppError[\s\S]*?super\(\s*'([A-Z][A-Z0-9_]+)'/g),
    ].map((m) => ({ name: m[1]!, code: m[2]! }));
    expect(classes.length).toBeGreaterThan(20);
    const rest = sources(join(ROOT, 'src'))
      .filter((f) => !f.endsWith('/src/errors.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    // Subclassed ones count through their subclasses; the rest must be thrown (or handed on) by name.
    const used = (name: string) =>
      new RegExp(`new ${name}\\(|extends ${name}\\b`).test(rest) || new RegExp(`extends ${name}\\b`).test(catalogue);
    expect(
      classes.filter((c) => !used(c.name)).map((c) => `${c.name} (${c.code})`),
      'defined but never thrown',
    ).toEqual([]);
  });
});
