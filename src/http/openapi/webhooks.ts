import { WEBHOOK_EVENTS } from '../schemas/events.js';

/**
 * The headers of every webhook request. `webhook-*` are Standard Webhooks (standardwebhooks.com)
 * and replay-safe: the signature covers id, timestamp and body. `X-Webhook-*` are Titan's, kept
 * for compatibility: that signature covers the body alone.
 */
export const WEBHOOK_REQUEST_HEADERS = [
  {
    name: 'webhook-id',
    description: 'Standard Webhooks: the event id, the same for every attempt and redelivery.',
    example: 'evt_3q9Kx1b2Vn7d',
  },
  {
    name: 'webhook-timestamp',
    description: 'Standard Webhooks: Unix seconds when this attempt was signed; reject old ones.',
    example: '1795253667',
  },
  {
    name: 'webhook-signature',
    description:
      'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`, one per signing secret (two while a rotation window is open). Verify with the standard\u2019s libraries.',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  },
  {
    name: 'X-Webhook-Id',
    description: 'The event id; the same for every attempt and redelivery (deduplicate on it).',
    example: 'evt_3q9Kx1b2Vn7d',
  },
  { name: 'X-Webhook-Timestamp', description: 'Unix seconds when this attempt was signed.', example: '1795253667' },
  {
    name: 'X-Webhook-Signature',
    description:
      '`sha256=` and the hex HMAC-SHA256 of the raw body, keyed with the webhook’s `hmacKey` (its UTF-8 bytes).',
    example: 'sha256=3f1c0f8ad1e2b5c7a4d6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e',
  },
];

/** The OAS 3.1 `webhooks` section: one POST per event, its envelope and its headers. */
export function webhooksSection(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(WEBHOOK_EVENTS).map(([name, e]) => [
      name,
      {
        post: {
          operationId: `on${name.replace(/(^|[._])(\w)/g, (_m, _s: string, c: string) => c.toUpperCase())}`,
          tags: ['webhooks'],
          summary: e.summary,
          description:
            'POSTed as JSON to every enabled webhook subscribed to the event. Verify the signature over the raw body before parsing it.',
          security: [],
          parameters: WEBHOOK_REQUEST_HEADERS.map((h) => ({
            name: h.name,
            in: 'header',
            required: true,
            description: h.description,
            schema: { type: 'string' },
            example: h.example,
          })),
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: `#/components/schemas/${e.schema.meta()?.id as string}` } },
            },
          },
          responses: {
            '2XX': { description: 'Any 2xx within WEBHOOK_TIMEOUT_MS acknowledges the event.' },
            '4XX': {
              description:
                'Any other answer (or none in time) is a failed attempt, retried by the webhook’s `retries` policy.',
            },
          },
        },
      },
    ]),
  );
}
