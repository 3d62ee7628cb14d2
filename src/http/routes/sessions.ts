import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SessionService } from '../../sessions/session-service.js';
import type { SessionManager } from '../../whatsapp/session-manager.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses, SessionParams } from '../schemas/common.js';
import { CreateSessionBody, SessionSchema } from '../schemas/sessions.js';

type Action = 'start' | 'stop' | 'restart' | 'logout';

const ACTIONS: Record<Action, { summary: string; description: string }> = {
  start: {
    summary: 'Start a session',
    description:
      'Connects to WhatsApp (idempotent). An unpaired session goes to CONNECTING/SCAN_QR; a paired one to CONNECTED.',
  },
  stop: {
    summary: 'Stop a session',
    description: 'Closes the connection; the device stays linked. DISCONNECTED/MANUAL_STOP.',
  },
  restart: { summary: 'Restart a session', description: 'Stops and connects again with the stored credentials.' },
  logout: {
    summary: 'Log a session out',
    description: 'Unlinks the device from the WhatsApp account and wipes its credentials. DISCONNECTED/LOGGED_OUT.',
  },
};

/** `/api/sessions`: sessions of the caller's account and their WhatsApp connections. */
export const sessionRoutes: FastifyPluginAsyncZod<{
  sessions: SessionService;
  manager: SessionManager;
  /** Cancels the session's media transfers running in this process. */
  cancelTransfers?: (accountId: string, session: string) => void;
}> = async (app, opts) => {
  const { sessions, manager } = opts;
  const tags = ['sessions'];

  app.post(
    '/sessions',
    {
      config: { scope: 'sessions:manage' },
      schema: {
        tags,
        operationId: 'createSession',
        summary: 'Create a session',
        body: CreateSessionBody,
        response: { 201: envelope(SessionSchema), ...errorResponses(...API_ERRORS, 409) },
      },
    },
    async (req, reply) => reply.code(201).send({ data: await manager.create(principalOf(req).accountId, req.body) }),
  );

  app.get(
    '/sessions',
    {
      config: { scope: 'sessions:read' },
      schema: {
        tags,
        operationId: 'listSessions',
        summary: 'List sessions',
        response: { 200: envelope(z.array(SessionSchema)), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req) => ({ data: await sessions.list(principalOf(req).accountId) }),
  );

  app.get(
    '/sessions/:session',
    {
      config: { scope: 'sessions:read' },
      schema: {
        tags,
        operationId: 'getSession',
        summary: 'Get a session',
        params: SessionParams,
        response: { 200: envelope(SessionSchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => ({ data: await sessions.get(principalOf(req).accountId, req.params.session) }),
  );

  for (const action of Object.keys(ACTIONS) as Action[]) {
    app.post(
      `/sessions/:session/${action}`,
      {
        config: { scope: 'sessions:manage' },
        schema: {
          tags,
          operationId: `${action}Session`,
          ...ACTIONS[action],
          params: SessionParams,
          response: { 200: envelope(SessionSchema), ...errorResponses(...API_ERRORS, 404, 503) },
        },
      },
      async (req) => {
        const { accountId } = principalOf(req);
        const data = await manager[action](accountId, req.params.session);
        // A stopped or logged-out session's media transfers stop with it.
        if (action === 'stop' || action === 'logout') opts.cancelTransfers?.(accountId, req.params.session);
        return { data };
      },
    );
  }

  app.delete(
    '/sessions/:session',
    {
      config: { scope: 'sessions:manage' },
      schema: {
        tags,
        operationId: 'deleteSession',
        summary: 'Delete a session',
        description:
          'Stops the session, logs it out (unlinking the device) and deletes it with its credentials and media records (keys, thumbnails). `?deleteMedia=true` also deletes its stored objects from the bucket (in the background).',
        params: SessionParams,
        querystring: z.object({
          deleteMedia: z
            .enum(['true', 'false'])
            .default('false')
            .transform((v) => v === 'true')
            .describe('Also delete the stored objects of its media.'),
        }),
        response: { 204: z.null().describe('Deleted.'), ...errorResponses(...API_ERRORS, 404, 503) },
      },
    },
    async (req, reply) => {
      const { accountId } = principalOf(req);
      await manager.remove(accountId, req.params.session, { deleteMedia: req.query.deleteMedia });
      opts.cancelTransfers?.(accountId, req.params.session);
      return reply.code(204).send(null);
    },
  );
};
