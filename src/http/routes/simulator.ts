import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { SimulatorDisabledError } from '../../errors.js';
import type { Simulator } from '../../simulator/simulator.js';
import { ValidationError } from '../../errors.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses, SessionParams } from '../schemas/common.js';
import { SimulatedMediaSchema, SimulatedMessageSchema, SimulateMediaQuery } from '../schemas/media.js';

/** Sandbox routes: simulate incoming WhatsApp messages (only with SIMULATOR_ENABLED=true). */
export const simulatorRoutes: FastifyPluginAsyncZod<{ simulator: Simulator }> = async (app, { simulator }) => {
  const tags = ['simulator'];

  await app.register(async (plain) => {
    const raw = plain.withTypeProvider<ZodTypeProvider>();
    // The body is the file itself, of any type: hand the stream over unread.
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    // A failure before the upload was read leaves its bytes on the socket: close the connection
    // after the answer, or the next request on it would never be parsed.
    raw.addHook('onError', async (req, reply) => {
      const body = req.body as Readable | undefined;
      if (body && !body.readableEnded) void reply.header('connection', 'close');
    });
    raw.post(
      '/sessions/:session/simulate/media',
      {
        config: { scope: 'sessions:manage' },
        schema: {
          tags,
          operationId: 'simulateMedia',
          summary: 'Simulate an incoming media message',
          description:
            'The body is the raw file and its Content-Type the MIME type. It is encrypted like WhatsApp does, hosted on the simulated CDN, and fed to ingest.',
          params: SessionParams,
          querystring: SimulateMediaQuery,
          binaryBody: {
            description: 'The file itself; its Content-Type is the media’s MIME type.',
            mediaTypes: [
              'image/jpeg',
              'image/png',
              'image/webp',
              'video/mp4',
              'audio/ogg',
              'application/pdf',
              'application/octet-stream',
            ],
          },
          response: { 201: envelope(SimulatedMediaSchema), ...errorResponses(...API_ERRORS, 404, 413) },
        },
      },
      async (req, reply) => {
        const mimeType = (req.headers['content-type'] ?? 'application/octet-stream')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        const body = req.body as Readable | undefined;
        // No Content-Type and no body: nothing was parsed, so there is no stream to read.
        if (!body)
          throw new ValidationError(
            'The request has no body: send the file itself as the body, with its Content-Type.',
          );
        const data = await simulator.simulateMedia(principalOf(req).accountId, req.params.session, body, {
          mimeType,
          ...req.query,
        });
        return reply.code(201).send({ data });
      },
    );
  });

  app.post(
    '/sessions/:session/simulate/message',
    {
      config: { scope: 'sessions:manage' },
      schema: {
        tags,
        operationId: 'simulateMessage',
        summary: 'Simulate an incoming message from a Baileys WAMessage (JSON, byte fields base64)',
        params: SessionParams,
        body: z.record(z.string(), z.unknown()),
        response: { 201: envelope(SimulatedMessageSchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send({ data: await simulator.simulateMessage(principalOf(req).accountId, req.params.session, req.body) }),
  );
};

/** With the simulator off, its routes say so (404 SIMULATOR_DISABLED) instead of "no such route". */
export const simulatorDisabledRoutes: FastifyPluginAsyncZod = async (app) => {
  // Refused before the body is read: close the connection, whose unread upload would follow.
  app.addHook('onRequest', async (_req, reply) => {
    void reply.header('connection', 'close');
    throw new SimulatorDisabledError();
  });
  app.post('/sessions/:session/simulate/*', { schema: { hide: true } }, async () => undefined);
};
