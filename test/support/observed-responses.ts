import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** One response the suite saw, and whether the OpenAPI document declares it. */
export interface Observation {
  route: string;
  status: string;
  contentType: string | null;
  documented: boolean;
}

interface Op {
  responses?: Record<string, { content?: Record<string, unknown> }>;
}

const DIR_VAR = 'TITAN_OBSERVED_RESPONSES_DIR';

/** Where the suite's workers append what they observed (set up by the global setup). */
export function observedDir(): string | undefined {
  return process.env[DIR_VAR];
}

export function startObserving(dir: string) {
  mkdirSync(dir, { recursive: true });
  process.env[DIR_VAR] = dir;
}

/** Does `mediaType` fall under one of the declared media ranges (`image/*`, `*∕*`)? */
function covered(declared: string[], mediaType: string): boolean {
  const [type] = mediaType.split('/');
  return declared.some((d) => d === mediaType || d === '*/*' || (d.endsWith('/*') && d.slice(0, -2) === type));
}

export function isDocumented(
  doc: { paths?: Record<string, Record<string, Op>> },
  method: string,
  route: string,
  status: number,
  contentType: string | null,
): boolean {
  const path = route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const op = doc.paths?.[path]?.[method.toLowerCase()];
  const res = op?.responses?.[String(status)];
  if (!res) return false;
  const declared = Object.keys(res.content ?? {});
  // A 204 has no body whatever its headers say (Fastify labels the empty reply JSON).
  if (contentType === null || status === 204) return true;
  return covered(declared, contentType);
}

/**
 * Records every (route, status, content type) `app` answers, with whether its own OpenAPI
 * document declares it. The global teardown fails the run on any undocumented one.
 */
export function observeResponses(app: FastifyInstance) {
  const dir = observedDir();
  if (!dir) return;
  const file = join(dir, `${process.pid}.jsonl`);
  let doc: ReturnType<FastifyInstance['swagger']> | null = null;
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    // Unmatched URLs have no operation; the docs pages are not part of the API.
    // (Routes a test adds for itself have no schema; every real route has one, see openapi.test.ts.)
    if (!route || !request.routeOptions.schema || request.routeOptions.schema.hide || request.method === 'HEAD')
      return payload;
    doc ??= app.swagger();
    const type = reply.getHeader('content-type');
    const contentType = typeof type === 'string' ? type.split(';')[0]!.trim().toLowerCase() || null : null;
    const documented = isDocumented(
      doc as Parameters<typeof isDocumented>[0],
      request.method,
      route,
      reply.statusCode,
      contentType,
    );
    const o: Observation = {
      route: `${request.method} ${route}`,
      status: String(reply.statusCode),
      contentType,
      documented,
    };
    appendFileSync(file, `${JSON.stringify(o)}\n`);
    return payload;
  });
}

/** Every distinct observation the workers wrote to `dir`. */
export function readObservations(dir: string): Observation[] {
  const seen = new Map<string, Observation>();
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)) {
      const o = JSON.parse(line) as Observation;
      seen.set(`${o.route} ${o.status} ${o.contentType}`, o);
    }
  }
  return [...seen.values()];
}
