import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountService } from '../../accounts/account-service.js';
import type { ApiKeyService } from '../../accounts/api-key-service.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses } from '../schemas/common.js';
import {
  AccountSchema,
  ApiKeySchema,
  CreatedApiKeySchema,
  CreateKeyBody,
  KeyParams,
  UpdateKeyBody,
} from '../schemas/keys.js';

/** `/api/account`: the caller's account and its API keys. */
export const accountRoutes: FastifyPluginAsyncZod<{ accounts: AccountService; apiKeys: ApiKeyService }> = async (
  app,
  { accounts, apiKeys },
) => {
  const tags = ['account'];

  app.get(
    '/account',
    {
      schema: {
        tags,
        operationId: 'getAccount',
        summary: 'The account of the calling key',
        response: { 200: envelope(AccountSchema), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req) => ({ data: await accounts.get(principalOf(req).accountId) }),
  );

  app.post(
    '/account/keys',
    {
      config: { scope: '*' },
      schema: {
        tags,
        operationId: 'createApiKey',
        summary: 'Create an API key (the secret is returned once)',
        description: 'Needs the `*` scope; the new key cannot hold scopes the caller lacks.',
        body: CreateKeyBody,
        response: { 201: envelope(CreatedApiKeySchema), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      return reply.code(201).send({ data: await apiKeys.create(p.accountId, req.body, p.scopes) });
    },
  );

  app.get(
    '/account/keys',
    {
      config: { scope: '*' },
      schema: {
        tags,
        operationId: 'listApiKeys',
        summary: 'List the account’s API keys',
        response: { 200: envelope(z.array(ApiKeySchema)), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req) => ({ data: await apiKeys.list(principalOf(req).accountId) }),
  );

  app.patch(
    '/account/keys/:id',
    {
      config: { scope: '*' },
      schema: {
        tags,
        operationId: 'updateApiKey',
        summary: 'Rename, disable or re-enable a key',
        params: KeyParams,
        body: UpdateKeyBody,
        response: { 200: envelope(ApiKeySchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => ({ data: await apiKeys.update(principalOf(req).accountId, req.params.id, req.body) }),
  );

  app.delete(
    '/account/keys/:id',
    {
      config: { scope: '*' },
      schema: {
        tags,
        operationId: 'deleteApiKey',
        summary: 'Delete a key',
        params: KeyParams,
        response: { 204: z.null().describe('Deleted.'), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      await apiKeys.remove(principalOf(req).accountId, req.params.id);
      return reply.code(204).send(null);
    },
  );
};
