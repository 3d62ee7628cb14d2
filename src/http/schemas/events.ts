import { z } from 'zod';
import { MEDIA_TYPES } from '../../media/media-type.js';
import type { EventName } from '../../webhooks/events.js';
import { Timestamp } from './common.js';

/** The webhook events as sent: the envelope around each payload (docs/webhooks.md). */
const envelopeOf = <E extends string, P extends z.ZodType>(event: E, payload: P, id: string) =>
  z
    .object({
      id: z
        .string()
        .describe('The event id (`evt_…`), also sent as X-Webhook-Id: the same for every attempt and redelivery.'),
      event: z.literal(event),
      session: z.string().nullable().describe('The session the event is about (null for webhook.test).'),
      timestamp: Timestamp.describe('When the event happened.'),
      payload,
    })
    .meta({ id });

const ErrorInfo = z.object({ code: z.string(), message: z.string() });
const SessionStatus = z.enum(['CONNECTING', 'CONNECTED', 'DISCONNECTED']);

export const MessageReceivedPayload = z.object({
  id: z.string().describe('The WhatsApp message id.'),
  from: z.string().nullable().describe('The chat JID.'),
  sender: z.string().nullable().describe('Who sent it (the participant in groups).'),
  type: z
    .string()
    .describe(
      '`image`, `video`, `audio`, `document`, `sticker`, `text`, or the content kind (`location`, `reaction`, …).',
    ),
  body: z.string().nullable(),
  text: z.string().nullable().describe('The text, or the caption of media.'),
  timestamp: z.int().describe('Unix seconds, as WhatsApp gives them.'),
  fromMe: z.boolean(),
  pushName: z.string().nullable(),
  isGroup: z.boolean(),
  mediaId: z.string().optional().describe('Media messages: the id for the media routes.'),
  mimeType: z.string().optional(),
  fileLength: z.int().nullable().optional(),
  fileName: z.string().nullable().optional(),
  caption: z.string().nullable().optional(),
  sha256: z.string().nullable().optional(),
  mediaUrl: z.string().optional().describe('With autoPersist: the stored object’s URL, minted for this attempt.'),
  persistError: ErrorInfo.optional().describe('With autoPersist: why the media could not be stored.'),
});

const event = <E extends string, P extends z.ZodType>(summary: string, name: E, payload: P, id: string) => ({
  summary,
  schema: envelopeOf(name, payload, id),
});

/** Every event a webhook receives, with its envelope schema (registered as a component). */
export const WEBHOOK_EVENTS = {
  'message.received': event(
    'A message arrived on a session (media messages carry a mediaId)',
    'message.received',
    MessageReceivedPayload,
    'MessageReceivedEvent',
  ),
  'session.status': event(
    'A session changed status',
    'session.status',
    z.object({
      status: SessionStatus,
      previousStatus: SessionStatus,
      statusReason: z.string().nullable(),
      at: Timestamp,
    }),
    'SessionStatusEvent',
  ),
  'media.persisted': event(
    'A media was stored in the bucket (on request or by autoPersist)',
    'media.persisted',
    z.object({
      mediaId: z.string(),
      messageId: z.string(),
      type: z.enum(MEDIA_TYPES),
      mimeType: z.string(),
      size: z.int(),
      sha256: z.string().nullable(),
      bucket: z.string(),
      key: z.string(),
      mediaUrl: z.string(),
      trigger: z.enum(['request', 'auto']),
    }),
    'MediaPersistedEvent',
  ),
  'media.persist_failed': event(
    'A persist failed; nothing was left in the bucket',
    'media.persist_failed',
    z.object({
      mediaId: z.string(),
      messageId: z.string(),
      type: z.enum(MEDIA_TYPES),
      mimeType: z.string(),
      error: ErrorInfo,
      trigger: z.enum(['request', 'auto']),
    }),
    'MediaPersistFailedEvent',
  ),
  'media.deleted': event(
    'A media was deleted by its owner (DELETE …/media/{mediaId}); retention and session deletion do not send it',
    'media.deleted',
    z.object({
      mediaId: z.string(),
      messageId: z.string(),
      type: z.enum(MEDIA_TYPES),
      mimeType: z.string(),
      deletedAt: Timestamp,
      object: z
        .enum(['deleting', 'kept', 'none'])
        .describe(
          'The stored object: being deleted (in the background), kept (`?keepObject=true`), or there was none.',
        ),
    }),
    'MediaDeletedEvent',
  ),
  'webhook.test': event(
    'Sent by POST /api/webhooks/{id}/test to that webhook only',
    'webhook.test',
    z.object({ webhookId: z.string(), message: z.string() }),
    'WebhookTestEvent',
  ),
} as const satisfies Record<EventName, { summary: string; schema: z.ZodType }>;
