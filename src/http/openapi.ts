import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/** OpenAPI 3 generated from the zod schemas routes validate with; UI at /docs. */
export async function registerOpenApi(app: FastifyInstance, version: string) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'titan-media',
        version,
        description:
          'Media endpoints compatible with the Titan WhatsApp API: media metadata, streamed and verified download, persistence to S3.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: `titan_…`' },
          masterKey: { type: 'http', scheme: 'bearer', description: 'The MASTER_KEY of the server (admin routes).' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/docs/openapi.json', { schema: { hide: true } }, () => app.swagger());
  // The error catalogue that every error body's `docs` link points at.
  const errorsDoc = new URL('../../docs/errors.md', import.meta.url);
  app.get('/docs/errors', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/markdown; charset=utf-8').send(await readFile(errorsDoc, 'utf8')),
  );
}
