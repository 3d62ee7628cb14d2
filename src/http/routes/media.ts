import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MediaService } from '../../media/media-service.js';
import type { PersistService } from '../../media/persist-service.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses } from '../schemas/common.js';
import { DownloadHeaders, MediaObjectSchema, MediaParams, PersistResultSchema } from '../schemas/media.js';
import { fileResponse, HEADERS, withHeaders } from '../schemas/responses.js';

/** Media metadata and streamed, verified download. */
export const mediaRoutes: FastifyPluginAsyncZod<{ media: MediaService; persist: PersistService }> = async (app, { media, persist }) => {
  const tags = ['media'];

  app.get(
    '/sessions/:session/media/:mediaId',
    {
      config: { scope: 'media:read' },
      schema: { tags, operationId: 'getMedia', summary: 'Get a media object', params: MediaParams, response: { 200: envelope(MediaObjectSchema), ...errorResponses(...API_ERRORS, 404) } },
    },
    async (req) => {
      const { session, mediaId } = req.params;
      return { data: await media.get(principalOf(req).accountId, session, mediaId) };
    },
  );

  app.post(
    '/sessions/:session/media/:mediaId/download',
    {
      config: { scope: 'media:read' },
      schema: {
        tags,
        operationId: 'downloadMedia',
        summary: 'Download the decrypted media (streamed, verified)',
        description:
          'Streams the plaintext as it is decrypted. A full download is verified (MAC and SHA-256): a failure found before the first byte is a 502 JSON error, one found later aborts the connection. `Range: bytes=a-b` answers 206 with just that slice; a partial read cannot be MAC-verified.',
        params: MediaParams,
        headers: DownloadHeaders,
        response: {
          200: fileResponse('The decrypted file, with the media’s own Content-Type.'),
          206: fileResponse('The requested slice.', { 'Content-Range': { type: 'string', description: '`bytes a-b/size`.', example: 'bytes 0-1023/48213' } }),
          302: withHeaders(z.null().describe('Persisted media with downloadMode "redirect": Location is the object URL.'), HEADERS.location),
          ...errorResponses(...API_ERRORS, 404, 410, 413, 416, 502, 503),
        },
      },
    },
    async (req, reply) => {
      // The transfer lives as long as the client does (request.signal would fire too early).
      const transfer = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) transfer.abort(new Error('The client went away.'));
      });
      const { session, mediaId } = req.params;
      const d = await media.download(principalOf(req).accountId, session, mediaId, { range: req.headers.range, ifRange: req.headers['if-range'], signal: transfer.signal });
      if (d.status === 302) return reply.redirect(d.headers.location!, 302);
      // The schema documents the bytes; the type provider only knows JSON bodies.
      return reply.code(d.status).headers(d.headers).send(d.body as unknown as string);
    },
  );

  app.post(
    '/sessions/:session/media/:mediaId/persist',
    {
      config: { scope: 'media:write' },
      schema: {
        tags,
        operationId: 'persistMedia',
        summary: 'Copy the media into the S3 bucket (streamed, verified)',
        description:
          'Streams CDN → decrypt/verify → multipart upload. Idempotent: persisted media answer with the existing object. Concurrent calls share one upload. On any failure nothing is left in the bucket and the media stays unpersisted.',
        params: MediaParams,
        response: { 200: envelope(PersistResultSchema), ...errorResponses(...API_ERRORS, 404, 410, 413, 502, 503) },
      },
    },
    async (req) => {
      const { session, mediaId } = req.params;
      return { data: await persist.persist(principalOf(req).accountId, session, mediaId) };
    },
  );
};
