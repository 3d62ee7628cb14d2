import { afterAll, expect } from 'vitest';
import { logProblems } from './log-lines.js';

// Runs after the file's own afterAll hooks (hooks run as a stack), so lines written while
// apps and processes shut down are checked too.
afterAll(() => {
  expect(logProblems, 'log lines that are not one JSON object with unique keys').toEqual([]);
});
