import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionManager } from '../../whatsapp/session-manager.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses, SessionParams } from '../schemas/common.js';
import { PairCodeBody, PairCodeSchema, QrQuery, QrSchema } from '../schemas/sessions.js';
import { BinaryBody } from '../schemas/responses.js';

/** Linking a WhatsApp account: the QR to scan (Titan's bare `{qr, event}`), or a phone code. */
export const pairingRoutes: FastifyPluginAsyncZod<{ manager: SessionManager }> = async (app, { manager }) => {
  const tags = ['pairing'];
  const qrSchema = {
    tags,
    summary: 'The QR code to scan',
    description:
      'Answers `{qr, event}` as Titan does (no `{data}` envelope). With `?format=image`, the QR as a PNG (409 QR_NOT_AVAILABLE when there is none).',
    params: SessionParams,
    querystring: QrQuery,
    response: {
      200: {
        description: 'The QR as `{qr, event}`, or with `?format=image` a PNG.',
        content: { 'application/json': { schema: QrSchema }, 'image/png': { schema: BinaryBody } },
        headers: {},
      },
      ...errorResponses(...API_ERRORS, 404, 409),
    },
  };
  const qr = async (
    req: FastifyRequest<{ Params: { session: string }; Querystring: { format: 'json' | 'image' } }>,
    reply: FastifyReply,
  ) => {
    const accountId = principalOf(req).accountId;
    if (req.query.format !== 'image') return manager.qr(accountId, req.params.session);
    const png = await manager.qrImage(accountId, req.params.session);
    return reply.type('image/png').header('cache-control', 'no-store').send(png);
  };

  // Titan's path, and the same under /sessions.
  app.get(
    '/:session/pair/qr',
    { config: { scope: 'sessions:manage' }, schema: { ...qrSchema, operationId: 'getQr' } },
    qr,
  );
  app.get(
    '/sessions/:session/pair/qr',
    { config: { scope: 'sessions:manage' }, schema: { ...qrSchema, operationId: 'getSessionQr' } },
    qr,
  );

  app.post(
    '/sessions/:session/pair/code',
    {
      config: { scope: 'sessions:manage' },
      schema: {
        tags,
        operationId: 'requestPairingCode',
        summary: 'Pair by phone number: get a code to type on the phone',
        description:
          'Starts the session when needed. 409 SESSION_ALREADY_PAIRED when it is linked already; 502 PAIRING_FAILED when WhatsApp refused or did not offer pairing in time.',
        params: SessionParams,
        body: PairCodeBody,
        response: { 200: envelope(PairCodeSchema), ...errorResponses(...API_ERRORS, 404, 409, 502, 503) },
      },
    },
    async (req) => ({
      data: await manager.pairingCode(principalOf(req).accountId, req.params.session, req.body.phoneNumber),
    }),
  );
};
