import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountService } from '../../accounts/account-service.js';
import type { ApiKeyService } from '../../accounts/api-key-service.js';
import { registerMasterKeyAuth } from '../auth.js';
import type { AuthLimiter } from '../auth-limiter.js';
import { envelope, errorResponses } from '../schemas/common.js';
import {
  AccountSchema,
  AdminCreateKeyBody,
  ApiKeySchema,
  CreateAccountBody,
  CreatedApiKeySchema,
} from '../schemas/keys.js';

/** `/admin`: accounts and their keys, guarded by MASTER_KEY. */
export const adminRoutes: FastifyPluginAsyncZod<{
  accounts: AccountService;
  apiKeys: ApiKeyService;
  masterKey: string | undefined;
  authLimiter: AuthLimiter;
}> = async (app, { accounts, apiKeys, masterKey, authLimiter }) => {
  registerMasterKeyAuth(app, masterKey, authLimiter);
  const tags = ['admin'];
  const errors = errorResponses(400, 401, 404);

  app.post(
    '/accounts',
    {
      schema: {
        tags,
        operationId: 'adminCreateAccount',
        summary: 'Create an account',
        body: CreateAccountBody,
        response: { 201: envelope(AccountSchema), ...errors },
      },
    },
    async (req, reply) => reply.code(201).send({ data: await accounts.create(req.body.name) }),
  );

  app.get(
    '/accounts',
    {
      schema: {
        tags,
        operationId: 'adminListAccounts',
        summary: 'List accounts',
        response: { 200: envelope(z.array(AccountSchema)), ...errors },
      },
    },
    async () => ({ data: await accounts.list() }),
  );

  app.post(
    '/keys',
    {
      schema: {
        tags,
        operationId: 'adminCreateApiKey',
        summary: 'Create an API key for an account',
        body: AdminCreateKeyBody,
        response: { 201: envelope(CreatedApiKeySchema), ...errors },
      },
    },
    async (req, reply) => {
      const { accountId, ...input } = req.body;
      const account = accountId ? await accounts.get(accountId) : await accounts.defaultAccount();
      return reply.code(201).send({ data: await apiKeys.create(account.id, input) });
    },
  );

  app.get(
    '/keys',
    {
      schema: {
        tags,
        operationId: 'adminListApiKeys',
        summary: 'List API keys (of one account with ?accountId=)',
        querystring: z.object({ accountId: z.string().min(1).optional() }),
        response: { 200: envelope(z.array(ApiKeySchema)), ...errors },
      },
    },
    async (req) => ({ data: await apiKeys.list(req.query.accountId) }),
  );
};
