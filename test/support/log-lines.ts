/**
 * Checks every log line the suite's apps and server processes write: each must be one JSON
 * object, with no key repeated inside any object (JSON.parse keeps the last and hides it).
 * Problems are collected here and fail the test file that caused them (log-check-setup.ts).
 */
export const logProblems: string[] = [];

/** Parses one log line; records (and returns null for) a non-JSON line or a repeated key. */
export function checkLogLine(line: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    logProblems.push(`not a JSON line: ${line.slice(0, 200)}`);
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    logProblems.push(`not a JSON object: ${line.slice(0, 200)}`);
    return null;
  }
  const repeated = repeatedKeys(line);
  if (repeated.length > 0) logProblems.push(`repeated key(s) ${repeated.join(', ')} in: ${line.slice(0, 300)}`);
  return parsed as Record<string, unknown>;
}

/** Keys that occur twice in one object of a valid JSON text, at any depth. */
export function repeatedKeys(json: string): string[] {
  const repeated: string[] = [];
  // One entry per open object or array; objects keep the keys seen so far.
  const open: (Set<string> | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (keys && keyNext) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (keys.has(key)) repeated.push(key);
        keys.add(key);
        keyNext = false;
      }
      i = j;
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(null);
      keyNext = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      keyNext = false;
    } else if (c === ',') {
      keyNext = open.at(-1) instanceof Set;
    }
  }
  return repeated;
}
