import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SessionService } from '../../sessions/session-service.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses, SessionParams } from '../schemas/common.js';
import { CreateSessionBody, SessionSchema } from '../schemas/sessions.js';

/** `/api/sessions`: session records of the caller's account. */
export const sessionRoutes: FastifyPluginAsyncZod<{ sessions: SessionService }> = async (app, { sessions }) => {
  const tags = ['sessions'];

  app.post(
    '/sessions',
    {
      config: { scope: 'sessions:manage' },
      schema: { tags, summary: 'Create a session', body: CreateSessionBody, response: { 201: envelope(SessionSchema), ...errorResponses(...API_ERRORS, 409) } },
    },
    async (req, reply) => reply.code(201).send({ data: await sessions.create(principalOf(req).accountId, req.body) }),
  );

  app.get(
    '/sessions',
    { config: { scope: 'sessions:read' }, schema: { tags, summary: 'List sessions', response: { 200: envelope(z.array(SessionSchema)), ...errorResponses(...API_ERRORS) } } },
    async (req) => ({ data: await sessions.list(principalOf(req).accountId) }),
  );

  app.get(
    '/sessions/:session',
    {
      config: { scope: 'sessions:read' },
      schema: { tags, summary: 'Get a session', params: SessionParams, response: { 200: envelope(SessionSchema), ...errorResponses(...API_ERRORS, 404) } },
    },
    async (req) => ({ data: await sessions.get(principalOf(req).accountId, req.params.session) }),
  );

  app.delete(
    '/sessions/:session',
    {
      config: { scope: 'sessions:manage' },
      schema: { tags, summary: 'Delete a session', params: SessionParams, response: { 204: z.null().describe('Deleted.'), ...errorResponses(...API_ERRORS, 404) } },
    },
    async (req, reply) => {
      await sessions.remove(principalOf(req).accountId, req.params.session);
      return reply.code(204).send(null);
    },
  );
};
