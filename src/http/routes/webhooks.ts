import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WebhookService } from '../../webhooks/webhook-service.js';
import { principalOf } from '../auth.js';
import { API_ERRORS, envelope, errorResponses } from '../schemas/common.js';
import {
  CreatedWebhookSchema,
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveryParams,
  DeliverySchema,
  RotateSecretBody,
  RotatedSecretSchema,
  UpdateWebhookBody,
  WebhookParams,
  WebhookSchema,
} from '../schemas/webhooks.js';

/** `/api/webhooks`: webhook configuration, the delivery log, redelivery and test events. */
export const webhookRoutes: FastifyPluginAsyncZod<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  const tags = ['webhooks'];
  const config = { scope: 'webhooks:manage' as const };
  const account = (req: Parameters<typeof principalOf>[0]) => principalOf(req).accountId;

  app.post(
    '/webhooks',
    {
      config,
      schema: {
        tags,
        operationId: 'createWebhook',
        summary: 'Create a webhook (the HMAC key is returned once)',
        body: CreateWebhookBody,
        response: { 201: envelope(CreatedWebhookSchema), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req, reply) => reply.code(201).send({ data: await webhooks.create(account(req), req.body) }),
  );

  app.get(
    '/webhooks',
    {
      config,
      schema: {
        tags,
        operationId: 'listWebhooks',
        summary: 'List webhooks',
        response: { 200: envelope(z.array(WebhookSchema)), ...errorResponses(...API_ERRORS) },
      },
    },
    async (req) => ({ data: await webhooks.list(account(req)) }),
  );

  app.get(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        operationId: 'getWebhook',
        summary: 'Get a webhook',
        params: WebhookParams,
        response: { 200: envelope(WebhookSchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => ({ data: await webhooks.get(account(req), req.params.id) }),
  );

  app.patch(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        operationId: 'updateWebhook',
        summary: 'Change a webhook',
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: envelope(WebhookSchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => ({ data: await webhooks.update(account(req), req.params.id, req.body) }),
  );

  app.delete(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook',
        params: WebhookParams,
        response: { 204: z.null().describe('Deleted.'), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req, reply) => {
      await webhooks.remove(account(req), req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/webhooks/:id/rotate-secret',
    {
      config,
      schema: {
        tags,
        operationId: 'rotateWebhookSecret',
        summary: 'Rotate the signing secret (the old one keeps signing for a window)',
        description:
          'Every delivery carries signatures by both secrets in `webhook-signature` until `previousSecretExpiresAt`; then only the new one. `previousValidSeconds: 0` drops the old secret at once.',
        params: WebhookParams,
        body: RotateSecretBody,
        response: { 200: envelope(RotatedSecretSchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => ({ data: await webhooks.rotateSecret(account(req), req.params.id, req.body) }),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config,
      schema: {
        tags,
        operationId: 'listWebhookDeliveries',
        summary: 'Recent deliveries with their attempt log',
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: envelope(z.array(DeliverySchema)), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req) => ({ data: await webhooks.deliveries(account(req), req.params.id, req.query) }),
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config,
      schema: {
        tags,
        operationId: 'redeliverWebhookDelivery',
        summary: 'Send a delivery’s event again (a new delivery, same event id)',
        params: DeliveryParams,
        response: { 202: envelope(DeliverySchema), ...errorResponses(...API_ERRORS, 404) },
      },
    },
    async (req, reply) =>
      reply.code(202).send({ data: await webhooks.redeliver(account(req), req.params.id, req.params.deliveryId) }),
  );

  app.post(
    '/webhooks/:id/test',
    {
      config,
      schema: {
        tags,
        operationId: 'testWebhook',
        summary: 'Send a webhook.test event to this webhook',
        params: WebhookParams,
        response: { 202: envelope(DeliverySchema), ...errorResponses(...API_ERRORS, 404, 409) },
      },
    },
    async (req, reply) => reply.code(202).send({ data: await webhooks.test(account(req), req.params.id) }),
  );
};
