import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { registerErrorsPage } from './errors-page.js';
import { registerReferencePage } from './reference-page.js';
import { tidyComponents } from './components.js';
import { openApiTransform } from './transform.js';
import { webhooksSection } from './webhooks.js';

const TAGS = [
  { name: 'media', description: 'Media objects: metadata, streamed and verified download, persistence to S3.' },
  { name: 'sessions', description: 'Linked WhatsApp accounts and their connections.' },
  { name: 'pairing', description: 'Linking a WhatsApp account: QR code or phone code.' },
  { name: 'webhooks', description: 'Signed event deliveries, the delivery log and redelivery.' },
  { name: 'account', description: 'The calling key’s account, its API keys and its settings.' },
  { name: 'admin', description: 'Accounts and keys of this server, with the MASTER_KEY.' },
  {
    name: 'simulator',
    description: 'Sandbox (SIMULATOR_ENABLED=true): simulated incoming messages and the simulated CDN.',
  },
  { name: 'ops', description: 'Probes and metrics, without authentication.' },
];

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate with, at
 * `/docs/openapi.json` (and `.yaml`), with the Scalar reference at `/docs` and the error
 * catalogue at `/docs/errors`.
 */
export async function registerOpenApi(app: FastifyInstance, opts: { version: string; publicUrl: string | undefined }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'titan-media',
        version: opts.version,
        description:
          'Media endpoints compatible with the Titan WhatsApp API: media metadata, streamed and verified download, persistence to S3. Errors are `{error, code, docs}`; see [the error codes](/docs/errors).',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // Relative to where the document is served, unless PUBLIC_URL says where that is.
      servers: [
        {
          url: opts.publicUrl ?? '/',
          description: opts.publicUrl ? 'This server' : 'The server serving this document',
        },
      ],
      tags: TAGS,
      components: {
        securitySchemes: {
          apiKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'An API key: `Authorization: Bearer titan_…` (all `/api` routes).',
          },
          masterKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'The server’s MASTER_KEY: `Authorization: Bearer <MASTER_KEY>` (the `/admin` routes).',
          },
        },
      },
    },
    transform: openApiTransform,
    transformObject: (input) => {
      const doc = jsonSchemaTransformObject(input) as Record<string, unknown>;
      return tidyComponents({ ...doc, webhooks: webhooksSection() }) as ReturnType<typeof jsonSchemaTransformObject>;
    },
  });
  // The document itself, beside the page; the page reads it from here too.
  const download = (reply: FastifyReply, ext: string, type: string) =>
    reply
      .header('content-type', type)
      .header('content-disposition', `filename=titan-media.${ext}`)
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', '*');
  app.get('/docs/openapi.json', { schema: { hide: true } }, async (_req, reply) =>
    download(reply, 'json', 'application/json').send(app.swagger()),
  );
  app.get('/docs/openapi.yaml', { schema: { hide: true } }, async (_req, reply) =>
    download(reply, 'yaml', 'application/yaml').send(app.swagger({ yaml: true })),
  );
  registerReferencePage(app);
  registerErrorsPage(app);
}
