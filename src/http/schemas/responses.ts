import { z } from 'zod';

/** A response header as the OpenAPI document declares it (a JSON Schema plus a description). */
export interface HeaderDoc {
  type: 'string' | 'integer';
  format?: string;
  description: string;
  example?: string | number;
}
export type HeaderDocs = Record<string, HeaderDoc>;

/** Headers this server sets, named as they are documented. */
export const HEADERS = {
  requestId: {
    'X-Request-Id': {
      type: 'string',
      description: 'The request id (the caller’s own when it sent a sane one); it is in every log line of the request.',
    },
  },
  rateLimit: {
    'X-RateLimit-Limit': { type: 'integer', description: 'Requests allowed per key per window.', example: 600 },
    'X-RateLimit-Remaining': { type: 'integer', description: 'Requests left in this window.', example: 599 },
    'X-RateLimit-Reset': { type: 'integer', description: 'Seconds until the window resets.', example: 60 },
  },
  retryAfter: { 'Retry-After': { type: 'integer', description: 'Seconds to wait before trying again.', example: 1 } },
  wwwAuthenticate: { 'WWW-Authenticate': { type: 'string', description: 'Always `Bearer`.', example: 'Bearer' } },
  unsatisfiedRange: {
    'Content-Range': {
      type: 'string',
      description: 'The size of the file: `bytes */<size>`.',
      example: 'bytes */48213',
    },
  },
  location: {
    Location: { type: 'string', format: 'uri', description: 'Where the resource is (a presigned object URL).' },
  },
  noStore: {
    'Cache-Control': { type: 'string', description: 'Never cached by shared caches.', example: 'private, no-store' },
  },
} satisfies Record<string, HeaderDocs>;

const FILE_HEADERS: HeaderDocs = {
  'Content-Length': {
    type: 'integer',
    description: 'Bytes in this response, when known before streaming.',
    example: 48213,
  },
  'Accept-Ranges': { type: 'string', description: 'Always `bytes`.', example: 'bytes' },
  ETag: {
    type: 'string',
    description: 'Strong validator of the file (a media’s bytes never change); send it back as `If-Range`.',
    example: '"5dQvQ0bXyGm2b1m9y0mYwA"',
  },
  'Content-Disposition': {
    type: 'string',
    description: 'Documents only: `attachment` with the file name (RFC 6266, UTF-8 in `filename*`).',
    example: 'attachment; filename="report.pdf"; filename*=UTF-8\'\'report.pdf',
  },
  ...HEADERS.noStore,
};

/** The bytes of a file, in a request or response body. */
export const BinaryBody = z.string().meta({ format: 'binary' });

/** Media types a decrypted WhatsApp media can have, as the download answers them. */
export const MEDIA_CONTENT_TYPES = [
  'image/*',
  'video/*',
  'audio/*',
  'application/*',
  'text/*',
  'application/octet-stream',
];

/** A response whose body is a file: declared per media type, with the headers it carries. */
export interface BinaryResponse {
  description: string;
  content: Record<string, { schema: typeof BinaryBody }>;
  headers: HeaderDocs;
}

export function binaryResponse(description: string, mediaTypes: string[], headers: HeaderDocs = {}): BinaryResponse {
  return { description, content: Object.fromEntries(mediaTypes.map((t) => [t, { schema: BinaryBody }])), headers };
}

/** The decrypted file (200) or a slice of it (206), as the download route answers. */
export const fileResponse = (description: string, extra: HeaderDocs = {}) =>
  binaryResponse(description, MEDIA_CONTENT_TYPES, { ...FILE_HEADERS, ...extra });

// Headers of responses whose schema is a zod type (a redirect has no body but a Location).
const headersOf = new WeakMap<object, HeaderDocs>();

/** `schema`, documented as carrying `headers`. */
export function withHeaders<T extends z.ZodType>(schema: T, headers: HeaderDocs): T {
  headersOf.set(schema, headers);
  return schema;
}

/** The headers declared on a route's response entry (binary or zod). */
export function declaredHeaders(response: unknown): HeaderDocs {
  if (typeof response !== 'object' || response === null) return {};
  if ('content' in response && 'headers' in response) return (response as BinaryResponse).headers;
  return headersOf.get(response) ?? {};
}

/** A request body that is a file of any type (the simulator upload). */
export interface BinaryRequest {
  description: string;
  mediaTypes: string[];
}

declare module 'fastify' {
  interface FastifySchema {
    /** Documents a raw request body the route reads as a stream (no validation). */
    binaryBody?: BinaryRequest;
  }
}
