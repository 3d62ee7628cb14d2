import type { FastifyInstance, RawServerDefault } from 'fastify';
import { JsonTooDeepError, ValidationError } from '../errors.js';

/** Deeper bodies are refused before parsing: nothing the API takes nests anywhere near this. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of objects and arrays in `text` (brackets inside strings do not count). */
export function jsonDepth(text: string, stopAt = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > stopAt) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * JSON bodies only, with a depth limit: Fastify's own parser (prototype-poisoning checks
 * included) behind a scan, since a body nested thousands deep parses but overflows the stack
 * of everything that walks it later. Other content types get 415 (no text/plain parser).
 */
export function registerJsonBody(app: FastifyInstance<RawServerDefault>) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return done(new JsonTooDeepError(MAX_JSON_DEPTH), undefined);
    void parse(req, text, (err, value) => {
      if (err) return done(err, undefined);
      // No field takes U+0000, and PostgreSQL text cannot store it: refuse it here, once.
      if (hasNul(value))
        return done(
          new ValidationError('The body contains a NUL character (\\u0000), which no field accepts.'),
          undefined,
        );
      done(null, value);
    });
  });
}

/** Whether any string (key or value) in a parsed body holds U+0000; depth is bounded by the scan above. */
function hasNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (Array.isArray(v)) return v.some(hasNul);
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.includes('\0') || hasNul(x));
  return false;
}
