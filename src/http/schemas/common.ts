import { z } from 'zod';
import { EXAMPLES } from './examples.js';

/** The error envelope of every failure (DESIGN §3). */
export const ErrorSchema = z
  .object({
    error: z.string().describe('Human-readable sentence.'),
    code: z.string().describe('Stable machine code, see docs/errors.md.'),
    docs: z.string().optional(),
    details: z.unknown().optional(),
  })
  .meta({ id: 'Error', examples: [EXAMPLES.error] });

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (VALIDATION_FAILED, INVALID_JSON, BAD_REQUEST, …).',
  401: 'Missing, invalid, expired or disabled key (UNAUTHORIZED).',
  403: 'The key lacks the scope this route needs (FORBIDDEN).',
  404: 'Not found, or belongs to another account.',
  409: 'Conflict with an existing resource.',
  410: 'Gone (MEDIA_EXPIRED, MEDIA_DELETED).',
  413: 'Too large (PAYLOAD_TOO_LARGE, MEDIA_TOO_LARGE).',
  414: 'The request URL is too long.',
  415: 'Unsupported Content-Type (UNSUPPORTED_MEDIA_TYPE).',
  416: 'Range not satisfiable (RANGE_NOT_SATISFIABLE).',
  431: 'The request headers are too large.',
  429: 'Rate limited (RATE_LIMITED); see Retry-After.',
  500: 'Internal error (INTERNAL_ERROR).',
  502: 'Upstream failure (CDN_UNAVAILABLE, MEDIA_INTEGRITY_FAILED, STORAGE_FAILED, …).',
  503: 'Busy or not ready (BUSY, SERVICE_UNAVAILABLE); see Retry-After.',
};

/** The error responses a route can give, for its OpenAPI entry. 500 is always included. */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, z.ZodType> = {};
  for (const s of [...statuses, 500]) out[s] = ErrorSchema.describe(ERROR_TEXT[s] ?? 'Error.');
  return out;
}

/** Errors every authenticated `/api` route can give. */
export const API_ERRORS = [400, 401, 403, 429] as const;

/** `{data: T}`: the success envelope. */
export const envelope = <T extends z.ZodType>(data: T) => z.object({ data });

export const SessionNameSchema = z
  .string()
  .regex(
    /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/,
    'must be 1–64 characters: letters, digits, ".", "_", "-", starting with a letter or digit',
  );

export const SessionParams = z.object({ session: SessionNameSchema });

// Documented as date-time; not re-validated on the way out (the store writes toISOString()).
export const Timestamp = z
  .string()
  .meta({ format: 'date-time', description: 'ISO 8601 timestamp (UTC)', examples: ['2026-11-25T09:41:07.512Z'] });
