import { z } from 'zod';
import { EVENT_NAMES } from '../../webhooks/events.js';
import { RETRY_POLICIES } from '../../webhooks/retry-policy.js';
import { SessionNameSchema, Timestamp } from './common.js';
import { EXAMPLES } from './examples.js';

// Headers the server sets itself (or that HTTP owns) cannot be replaced by configuration.
const RESERVED_HEADERS = [
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'connection',
  'transfer-encoding',
  'x-webhook-id',
  'x-webhook-timestamp',
  'x-webhook-signature',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
];

const HeaderSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name')
      .refine((n) => !RESERVED_HEADERS.includes(n.toLowerCase()), {
        message: `must not be one of ${RESERVED_HEADERS.join(', ')}`,
      }),
    value: z
      .string()
      .max(4096)
      .regex(/^[^\r\n\0]*$/, 'must not contain line breaks'),
  })
  .strict();

const EventsSchema = z
  .array(z.enum(['*', ...EVENT_NAMES]))
  .min(1)
  .max(EVENT_NAMES.length + 1)
  .describe('Event names, or ["*"] (the default) for all.');

export const RetriesSchema = z
  .object({
    attempts: z.number().int().min(1).max(20).default(8).describe('Attempts in all, the first included.'),
    delaySeconds: z
      .number()
      .min(0)
      .max(86_400)
      .default(30)
      .describe('Base wait before a retry (fractions allowed; never below WEBHOOK_MIN_RETRY_DELAY_MS).'),
    policy: z
      .enum(RETRY_POLICIES)
      .default('exponential')
      .describe('exponential: delay × 2^(n−1); linear: delay × n; constant: delay (n = failed attempts so far).'),
  })
  .strict();

const fields = {
  url: z
    .string()
    .min(1)
    .max(2048)
    .describe('https only (unless WEBHOOK_ALLOW_HTTP); never a loopback, private, link-local or metadata address.'),
  events: EventsSchema,
  label: z.string().trim().max(100).nullable(),
  session: SessionNameSchema.nullable().describe('Only this session’s events; null for all sessions.'),
  hmacKey: z
    .string()
    .min(16)
    .max(256)
    .describe(
      'The signing secret: `whsec_<base64>` (Standard Webhooks) or any other string (used as its bytes). Generated when omitted; returned only by create.',
    ),
  retries: RetriesSchema,
  headers: z.array(HeaderSchema).max(20).describe('Extra request headers (e.g. your receiver’s own auth).'),
  enabled: z.boolean(),
};

export const CreateWebhookBody = z
  .object({
    ...fields,
    events: fields.events.default(['*']),
    label: fields.label.default(null),
    session: fields.session.default(null),
    hmacKey: fields.hmacKey.optional(),
    retries: fields.retries.default({ attempts: 8, delaySeconds: 30, policy: 'exponential' }),
    headers: fields.headers.default([]),
    enabled: fields.enabled.default(true),
  })
  .strict();

export const UpdateWebhookBody = z
  .object({
    url: fields.url.optional(),
    events: fields.events.optional(),
    label: fields.label.optional(),
    session: fields.session.optional(),
    hmacKey: fields.hmacKey.optional().describe('Replaces the key (not shown again).'),
    retries: fields.retries.optional(),
    headers: fields.headers.optional(),
    enabled: fields.enabled.optional(),
  })
  .strict();

export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    label: z.string().nullable(),
    session: z.string().nullable(),
    events: z.array(z.string()),
    retries: z.object({ attempts: z.int(), delaySeconds: z.number(), policy: z.enum(RETRY_POLICIES) }),
    headers: z.array(z.object({ name: z.string(), value: z.string() })),
    enabled: z.boolean(),
    previousSecretExpiresAt: Timestamp.nullable().describe(
      'While set, deliveries are also signed with the previous secret (see rotate-secret).',
    ),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Webhook', examples: [EXAMPLES.webhook] });

export const CreatedWebhookSchema = WebhookSchema.extend({
  hmacKey: z.string().describe('The signing key. Shown only in this response; store it now.'),
}).meta({ id: 'CreatedWebhook' });

export const RotateSecretBody = z
  .object({
    hmacKey: fields.hmacKey.optional().describe('The new secret; generated (`whsec_<base64>`) when omitted.'),
    previousValidSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(86_400)
      .describe('How long the old secret keeps signing (default one day).'),
  })
  .strict();

export const RotatedSecretSchema = WebhookSchema.extend({
  hmacKey: z.string().describe('The new signing secret. Shown only in this response.'),
}).meta({ id: 'RotatedWebhookSecret' });

export const DeliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string().describe('Also sent as X-Webhook-Id: the same for every attempt and redelivery.'),
    event: z.string(),
    state: z
      .enum(['held', 'pending', 'delivered', 'failed'])
      .describe('held: waits for its auto-persist job; failed: attempts used up.'),
    attempts: z.int(),
    lastStatusCode: z.int().nullable(),
    lastError: z.string().nullable(),
    nextRetryAt: Timestamp.nullable(),
    redeliveryOf: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    log: z.array(
      z.object({
        attempt: z.int(),
        statusCode: z.int().nullable(),
        error: z.string().nullable(),
        durationMs: z.int(),
        at: Timestamp,
        nextRetryAt: Timestamp.nullable(),
      }),
    ),
  })
  .meta({ id: 'WebhookDelivery', examples: [EXAMPLES.delivery] });

const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id');
export const WebhookParams = z.object({ id: Id });
export const DeliveryParams = z.object({ id: Id, deliveryId: Id });
export const DeliveriesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  state: z.enum(['held', 'pending', 'delivered', 'failed']).optional(),
});
