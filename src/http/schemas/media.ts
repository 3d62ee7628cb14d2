import { z } from 'zod';
import { MEDIA_TYPES } from '../../media/media-type.js';
import { SessionNameSchema, Timestamp } from './common.js';
import { EXAMPLES } from './examples.js';

export const MediaParams = z.object({
  session: SessionNameSchema,
  mediaId: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be a media id'),
});

export const MediaObjectSchema = z
  .object({
    id: z.string(),
    messageId: z.string(),
    session: z.string(),
    mimeType: z.string(),
    declaredMimeType: z
      .string()
      .nullable()
      .describe(
        'The type the message declared, when it was not a valid media type (RFC 6838); mimeType is then application/octet-stream.',
      ),
    fileLength: z.int().nullable().describe('Plaintext size in bytes, as the message declares it.'),
    persisted: z.boolean(),
    s3Url: z.string().nullable().describe('Minted at read time: presigned, or the public URL.'),
    type: z.enum(MEDIA_TYPES),
    fileName: z.string().nullable(),
    caption: z.string().nullable(),
    sha256: z.string().nullable().describe('Hex SHA-256 of the plaintext; checked on every full download.'),
    createdAt: Timestamp,
    cdnExpiresAt: Timestamp.describe('Estimated: media key timestamp + 14 days.'),
    persistedAt: Timestamp.nullable(),
    from: z.string().nullable().describe('Sender JID: the participant in groups, else the chat.'),
    width: z.number().nullable().describe('Pixels (image, video, sticker), as the message declares it.'),
    height: z.number().nullable(),
    durationSeconds: z.number().nullable().describe('Audio and video.'),
    isVoiceNote: z.boolean().nullable().describe('Audio recorded as a voice note (ptt); true for round video notes.'),
    isAnimated: z.boolean().nullable().describe('Video played as a GIF, or an animated sticker.'),
    pageCount: z.number().nullable().describe('Documents.'),
    hasThumbnail: z.boolean().describe('Whether GET …/thumbnail has the JPEG preview of the message.'),
    expired: z
      .boolean()
      .describe('The CDN copy expired unpersisted and the key was wiped: the file can no longer be read.'),
  })
  .meta({ id: 'Media', examples: [EXAMPLES.media] });

export const DownloadHeaders = z.looseObject({
  range: z
    .string()
    .max(256)
    .optional()
    .describe(
      '`bytes=a-b`, `bytes=a-` or `bytes=-n`: answers 206 with just that slice (not MAC-verified). Several ranges are answered in full (200).',
    ),
  'if-range': z
    .string()
    .max(256)
    .optional()
    .describe(
      'An ETag from an earlier download: the Range applies only while it still matches, else the whole file is sent.',
    ),
});

export const MessageParams = z.object({ session: SessionNameSchema, messageId: z.string().min(1).max(128) });

const IsoTime = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO 8601 time' })
  .transform((v) => new Date(v).toISOString());

export const MediaListQuery = z
  .object({
    messageId: z.string().min(1).max(128).optional(),
    type: z.enum(MEDIA_TYPES).optional(),
    persisted: z
      .enum(['true', 'false'])
      .transform((v) => v === 'true')
      .optional(),
    from: z
      .string()
      .regex(/^\+?[0-9A-Za-z.:@-]{1,128}$/, 'must be a JID or a phone number')
      .transform((v) => v.replace(/^\+/, ''))
      .optional()
      .describe('Sender: a JID, or a phone number.'),
    since: IsoTime.optional().describe('Received at or after.'),
    until: IsoTime.optional().describe('Received before.'),
    expiringBefore: IsoTime.optional().describe('cdnExpiresAt before this time.'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(512).optional().describe('The `next` of the previous page.'),
  })
  .strict();

export const MediaPageSchema = z
  .object({
    data: z.array(MediaObjectSchema),
    next: z.string().nullable().describe('Cursor of the next page; null on the last one.'),
  })
  .meta({ id: 'MediaPage' });

export const DeleteMediaQuery = z.object({
  keepObject: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('Forget the media but leave its object in the bucket.'),
});

export const DeletedMediaSchema = z
  .object({
    id: z.string(),
    deletedAt: Timestamp,
    object: z
      .enum(['deleting', 'kept', 'none'])
      .describe('The stored object: being deleted (in the background), kept, or there was none.'),
  })
  .meta({ id: 'DeletedMedia' });

export const SimulateMediaQuery = z.object({
  type: z
    .enum(MEDIA_TYPES)
    .optional()
    .describe('Defaults from the Content-Type (image/*, video/*, audio/*, image/webp → sticker, else document).'),
  fileName: z.string().min(1).max(255).optional(),
  caption: z.string().max(4096).optional(),
  from: z.string().min(1).max(128).optional().describe('Sender phone number or JID.'),
});

export const SimulatedMediaSchema = z
  .object({ messageId: z.string(), mediaId: z.string() })
  .meta({ id: 'SimulatedMedia', examples: [EXAMPLES.simulatedMedia] });
export const SimulatedMessageSchema = z
  .object({ messageId: z.string(), mediaId: z.string().nullable().describe('null when the message carries no media.') })
  .meta({ id: 'SimulatedMessage' });

export const PersistResultSchema = z
  .object({
    url: z.string().describe('Presigned URL (or public URL when the account set publicBaseUrl), minted now.'),
    key: z.string(),
    bucket: z.string(),
    size: z.int().describe('Plaintext bytes stored.'),
    mimeType: z.string(),
    sha256: z.string().nullable(),
  })
  .meta({ id: 'PersistResult', examples: [EXAMPLES.persistResult] });
