import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../src/config.js';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');

describe('documentation', () => {
  it.each(['README.md', '.env.example', 'docs/configuration.md'])('%s names every environment variable', (file) => {
    const text = read(file);
    expect(ENV_VARS.length).toBeGreaterThan(20);
    expect(ENV_VARS.filter((v) => !new RegExp(`\\b${v}\\b`).test(text))).toEqual([]);
  });
});
