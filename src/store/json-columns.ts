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

/**
 * An account's bucket settings as stored: the secret sealed. Fields added after the first
 * release take their defaults, so rows written before them still read.
 */
export const StoredS3Schema = z.object({
  endpoint: z.string().nullable().default(null),
  region: z.string().default('us-east-1'),
  bucket: z.string(),
  accessKeyId: z.string().nullable().default(null),
  forcePathStyle: z.boolean().default(false),
  keyPrefix: z.string().default(''),
  publicBaseUrl: z.string().nullable().default(null),
  presignExpiresSeconds: z.number().default(3600),
  secretAccessKeySealed: z.string().nullable().default(null),
});
export type StoredS3 = z.infer<typeof StoredS3Schema>;
