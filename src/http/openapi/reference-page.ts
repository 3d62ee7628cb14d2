import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

/** What the Scalar page is told: everything it needs comes from this server. */
const CONFIGURATION = {
  pageTitle: 'titan-media API',
  // The document beside the page (served by the app itself, see registerOpenApi).
  url: './openapi.json',
  // No web fonts, no telemetry, no proxy.
  withDefaultFonts: false,
  telemetry: false,
  persistAuth: true,
  hideClientButton: true,
  // No hosted-service toolbar or AI agent: the page is this server's reference only.
  showDeveloperTools: 'never',
  agent: { disabled: true },
  authentication: { preferredSecurityScheme: 'apiKey' },
} as const;

const PAGE_ROUTES = ['/docs', '/docs/', '/docs/js/scalar.js'];
const HOP_BY_HOP = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * The Scalar reference at `/docs`. Scalar's Fastify plugin holds its 5 MB browser bundle as a
 * string from the moment it is imported, about 22 MB of resident memory in a server whose page
 * may never be opened (docs/decisions.md). So the plugin is imported on the first request for the
 * page, into a private Fastify instance that serves nothing else, and its answers are relayed.
 */
export function registerReferencePage(app: FastifyInstance): void {
  let page: Promise<FastifyInstance> | undefined;
  const load = (): Promise<FastifyInstance> =>
    (page ??= (async () => {
      const { default: scalar } = await import('@scalar/fastify-api-reference');
      const inner = Fastify({ logger: false });
      await inner.register(scalar, { routePrefix: '/docs', configuration: CONFIGURATION });
      await inner.ready();
      return inner;
    })().catch((err: unknown) => {
      page = undefined;
      throw err;
    }));

  const relay = async (req: FastifyRequest, reply: FastifyReply) => {
    const inner = await load();
    const res = await inner.inject({ method: 'GET', url: req.url, headers: { host: req.headers.host ?? 'localhost' } });
    reply.code(res.statusCode);
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    }
    return reply.send(res.rawPayload);
  };
  for (const url of PAGE_ROUTES) app.get(url, { schema: { hide: true } }, relay);
  app.addHook('onClose', async () => {
    if (page) await (await page.catch(() => undefined))?.close();
  });
}
