import type { FastifySchema, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { errorResponses } from '../schemas/common.js';
import { declaredHeaders, HEADERS, type HeaderDocs } from '../schemas/responses.js';

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];
type Responses = Record<string, unknown>;

export type Audience = 'api' | 'admin' | 'open';

/** Who may call a route, from where it is mounted: the security of its operation follows. */
export function audienceOf(url: string): Audience {
  if (url === '/api' || url.startsWith('/api/')) return 'api';
  if (url === '/admin' || url.startsWith('/admin/')) return 'admin';
  return 'open';
}

const SECURITY: Record<Audience, Record<string, string[]>[]> = {
  api: [{ apiKey: [] }],
  admin: [{ masterKey: [] }],
  open: [],
};

/**
 * The statuses every route of an audience can answer besides its own: the HTTP parser's 414
 * and 431 anywhere, 429 on `/api` (the rate limit, and failed keys from one address) and on
 * `/admin` (failed master keys from one address), 413 and 415 wherever a JSON body is read.
 */
function implicitStatuses(audience: Audience, schema: FastifySchema): number[] {
  const out = [414, 431];
  if (audience === 'api' || audience === 'admin') out.push(429);
  if (schema.body !== undefined) out.push(413, 415);
  return out;
}

/** Headers a response carries because of where and how it was answered. */
function headersFor(audience: Audience, status: number): HeaderDocs {
  const h: HeaderDocs = { ...HEADERS.requestId };
  // The rate limit counts after authentication; the HTTP parser's refusals never reach it.
  if (audience === 'api' && ![401, 414, 431].includes(status)) Object.assign(h, HEADERS.rateLimit);
  if (status === 429 || status === 503) Object.assign(h, HEADERS.retryAfter);
  if (status === 401) Object.assign(h, HEADERS.wwwAuthenticate);
  if (status === 416) Object.assign(h, HEADERS.unsatisfiedRange);
  return h;
}

/**
 * Per route: the zod schemas as JSON Schema (fastify-type-provider-zod), plus what the zod
 * schemas cannot say: security by mount point, the statuses and headers every route shares,
 * the headers of binary and redirect responses, and raw (binary) request bodies.
 */
export function openApiTransform(input: TransformInput & { route?: RouteOptions }) {
  const schema = input.schema as FastifySchema | undefined;
  if (!schema || schema.hide) return jsonSchemaTransform(input);
  const audience = audienceOf(input.url);
  const own = (schema.response ?? {}) as Responses;
  const response: Responses = { ...errorResponses(...implicitStatuses(audience, schema)), ...own };
  const { binaryBody, ...rest } = schema;
  const out = jsonSchemaTransform({ ...input, schema: { ...rest, response } });
  const doc = out.schema as Record<string, unknown> & { response: Record<string, Record<string, unknown>> };

  for (const [status, entry] of Object.entries(doc.response)) {
    const headers = { ...headersFor(audience, Number(status)), ...declaredHeaders(response[status]) };
    doc.response[status] = { ...entry, headers: mapHeaders(headers) };
  }
  doc.security = schema.security ?? SECURITY[audience];
  if (binaryBody) {
    doc.body = { type: 'string', format: 'binary', description: binaryBody.description };
    doc.consumes = binaryBody.mediaTypes;
  }
  return out;
}

// @fastify/swagger turns each entry into a Header Object (schema + description).
function mapHeaders(h: HeaderDocs) {
  return Object.fromEntries(
    Object.entries(h).map(([name, d]) => [
      name,
      {
        type: d.type,
        description: d.description,
        ...(d.format ? { format: d.format } : {}),
        ...(d.example === undefined ? {} : { examples: [d.example] }),
      },
    ]),
  );
}
