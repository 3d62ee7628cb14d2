import { z } from 'zod';

/** A list of strings (scopes, event names). */
export const StringList = z.array(z.string());

/**
 * Reads a JSON column with the schema of what it holds. A stored value that does not fit is a
 * bug or a foreign write, so it fails loudly here rather than somewhere downstream.
 */
export function readJson<T>(schema: z.ZodType<T>, text: string, column: string): T {
  const r = schema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`${column} holds a value of the wrong shape: ${r.error.message}`);
  return r.data;
}
