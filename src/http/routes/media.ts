import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { MediaCatalog } from '../../media/media-catalog.js';
import type { MediaDeletion } from '../../media/media-deletion.js';
import type { MediaService } from '../../media/media-service.js';
import type { PersistHook, PersistService } from '../../media/persist-service.js';
import { principalOf } from '../auth.js';
import { noteLateFailure } from '../error-handler.js';
import { API_ERRORS, envelope, errorResponses } from '../schemas/common.js';
import { SessionParams } from '../schemas/common.js';
import {
  DeletedMediaSchema,
  DeleteMediaQuery,
  DownloadHeaders,
  MediaListQuery,
  MediaObjectSchema,
  MediaPageSchema,
  MediaParams,
  MessageParams,
  PersistResultSchema,
} from '../schemas/media.js';
import { binaryResponse, fileResponse, HEADERS, withHeaders } from '../schemas/responses.js';

interface MediaRouteDeps {
  media: MediaService;
  persist: PersistService;
  catalog: MediaCatalog;
  deletion: MediaDeletion;
  /** Runs in the transaction that records a persist's outcome (its webhook event). */
  onPersisted: PersistHook;
}

/** Media metadata, listings, thumbnails, streamed and verified download, persist and delete. */
export const mediaRoutes: FastifyPluginAsyncZod<MediaRouteDeps> = async (
  app,
  { media, persist, catalog, deletion, onPersisted },
) => {
  const tags = ['media'];

  app.get(
    '/sessions/:session/media',
    {
      config: { scope: 'media:read' },
      schema: {
        tags,
        operationId: 'listMedia',
        summary: 'List media',
        description:
          'Newest first. Filters combine (AND). Pages are fixed by an opaque cursor: media arriving meanwhile never shift later pages. Deleted media are left out.',
        params: SessionParams,
        querystring: MediaListQuery,
        response: { 200: MediaPageSchema, ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => {
      const { limit, cursor, ...filter } = req.query;
      return catalog.list(principalOf(req).accountId, req.params.session, filter, { limit, cursor });
    },
  );

  app.get(
    '/sessions/:session/media/by-message/:messageId',
    {
      config: { scope: 'media:read' },
      schema: {
        tags,
        operationId: 'getMediaByMessage',
        summary: 'Get the media of a message',
        params: MessageParams,
        response: { 200: envelope(MediaObjectSchema), ...errorResponses(...API_ERRORS, 404, 410) },
      },
    },
    async (req) => ({
      data: await catalog.byMessage(principalOf(req).accountId, req.params.session, req.params.messageId),
    }),
  );

  app.get(
    '/sessions/:session/media/:mediaId/thumbnail',
    {
      config: { scope: 'media:read' },
      schema: {
        tags,
        operationId: 'getMediaThumbnail',
        summary: 'Get the JPEG preview embedded in the message',
        description:
          'Served from the database (no CDN fetch), so it works after the CDN copy expired. 404 THUMBNAIL_NOT_FOUND when the message had none.',
        params: MediaParams,
        response: {
          200: binaryResponse('The JPEG preview.', ['image/jpeg'], {
            'Cache-Control': {
              type: 'string',
              description: 'The preview never changes for the life of the media.',
              example: 'private, max-age=86400, immutable',
            },
          }),
          ...errorResponses(...API_ERRORS, 404, 410),
        },
      },
    },
    async (req, reply) => {
      const jpeg = await catalog.thumbnail(principalOf(req).accountId, req.params.session, req.params.mediaId);
      // Immutable for the life of the media: the message's preview never changes.
      return reply
        .type('image/jpeg')
        .header('cache-control', 'private, max-age=86400, immutable')
        .send(jpeg as unknown as string);
    },
  );

  app.delete(
    '/sessions/:session/media/:mediaId',
    {
      config: { scope: 'media:write' },
      schema: {
        tags,
        operationId: 'deleteMedia',
        summary: 'Delete a media',
        description:
          'Wipes the media key, thumbnail and caption, and deletes the stored object (in the background; `?keepObject=true` leaves it). The record stays as a tombstone: the id answers 410 MEDIA_DELETED from then on. Emits `media.deleted`.',
        params: MediaParams,
        querystring: DeleteMediaQuery,
        response: { 200: envelope(DeletedMediaSchema), ...errorResponses(...API_ERRORS, 404, 410) },
      },
    },
    async (req) => ({
      data: await deletion.delete(principalOf(req).accountId, req.params.session, req.params.mediaId, {
        keepObject: req.query.keepObject,
      }),
    }),
  );

  app.get(
    '/sessions/:session/media/:mediaId',
    {
      config: { scope: 'media:read' },
      schema: {
        tags,
        operationId: 'getMedia',
        summary: 'Get a media object',
        params: MediaParams,
        response: { 200: envelope(MediaObjectSchema), ...errorResponses(...API_ERRORS, 404, 410) },
      },
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
          206: fileResponse('The requested slice.', {
            'Content-Range': { type: 'string', description: '`bytes a-b/size`.', example: 'bytes 0-1023/48213' },
          }),
          302: withHeaders(
            z.null().describe('Persisted media with downloadMode "redirect": Location is the object URL.'),
            HEADERS.location,
          ),
          ...errorResponses(...API_ERRORS, 404, 409, 410, 413, 416, 502, 503),
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
      const d = await media.download(principalOf(req).accountId, session, mediaId, {
        range: req.headers.range,
        ifRange: req.headers['if-range'],
        signal: transfer.signal,
        requestId: req.id,
      });
      if (d.status === 302) return reply.redirect(d.location, 302);
      noteLateFailure(req, d.body, transfer.signal);
      // The schema documents the bytes; the type provider only knows JSON bodies.
      return reply
        .code(d.status)
        .headers(d.headers)
        .send(d.body as unknown as string);
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
        response: {
          200: envelope(PersistResultSchema),
          ...errorResponses(...API_ERRORS, 404, 409, 410, 413, 502, 503),
        },
      },
    },
    async (req) => {
      const { session, mediaId } = req.params;
      return {
        data: await persist.persist(principalOf(req).accountId, session, mediaId, {
          hook: onPersisted,
          requestId: req.id,
        }),
      };
    },
  );
};
