import { describe, expect, it } from 'vitest';
import { checkLogLine, logProblems, repeatedKeys } from './support/log-lines.js';

describe('the log line checker the suite runs on every line', () => {
  it('finds a key repeated in an object, at any depth, and only then', () => {
    expect(repeatedKeys('{"a":1,"b":{"c":1,"c":2},"d":[{"e":1},{"e":2}]}')).toEqual(['c']);
    expect(repeatedKeys('{"accountId":"x","msg":"request","accountId":"x"}')).toEqual(['accountId']);
    expect(repeatedKeys('{"a":"{\\"a\\":1,\\"a\\":2}","b":["a","a"],"c":{"a":1},"z":0}')).toEqual([]);
  });

  it('records a non-JSON line and a repeated key as problems', () => {
    const before = logProblems.length;
    expect(checkLogLine('NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)')).toBeNull();
    expect(checkLogLine('{"level":30,"reqId":"r","reqId":"r"}')).toEqual({ level: 30, reqId: 'r' });
    expect(logProblems.slice(before)).toHaveLength(2);
    // These two were planted on purpose; the file's own check must not fail on them.
    logProblems.splice(before);
  });
});
