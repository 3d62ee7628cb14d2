import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SettingsService } from '../../accounts/settings-service.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses } from '../schemas/common.js';
import { SettingsInputSchema, SettingsSchema } from '../schemas/settings.js';

/** `/api/account/settings`: storage and media behaviour of the account. */
export const settingsRoutes: FastifyPluginAsyncZod<{ settings: SettingsService }> = async (app, { settings }) => {
  const tags = ['account'];
  app.get(
    '/account/settings',
    {
      config: { scope: 'settings:manage' },
      schema: {
        tags,
        operationId: 'getSettings',
        summary: 'The account settings (secrets never shown)',
        response: { 200: envelope(SettingsSchema), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req) => ({ data: await settings.get(principalOf(req).accountId) }),
  );
  app.put(
    '/account/settings',
    {
      config: { scope: 'settings:manage' },
      schema: {
        tags,
        operationId: 'updateSettings',
        summary: 'Replace the account settings',
        description:
          'The S3 settings are checked against the bucket (HeadBucket) unless `?verify=false`; a refusal is 400 S3_SETTINGS_INVALID with the storage’s reason.',
        querystring: z.object({ verify: z.enum(['true', 'false']).default('true') }),
        body: SettingsInputSchema,
        response: { 200: envelope(SettingsSchema), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req) => ({
      data: await settings.put(principalOf(req).accountId, req.body, { verify: req.query.verify === 'true' }),
    }),
  );
};
