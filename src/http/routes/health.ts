import { sql } from 'kysely';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ServiceUnavailableError } from '../../errors.js';
import type { Db } from '../../store/db.js';
import { errorResponses } from '../schemas/common.js';

/** Liveness and readiness probes (no auth, for orchestrators). */
export const healthRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  const Ok = z.object({ status: z.literal('ok') });
  app.get(
    '/healthz',
    { schema: { tags: ['ops'], operationId: 'getLiveness', summary: 'The process is alive', response: { 200: Ok } } },
    () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        operationId: 'getReadiness',
        summary: 'The database answers',
        response: { 200: Ok, ...errorResponses(503) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        throw new ServiceUnavailableError('The database is not reachable.', { cause: err });
      }
      return { status: 'ok' as const };
    },
  );
};
