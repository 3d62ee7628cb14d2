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
  })
  .meta({ id: 'Media', examples: [EXAMPLES.media] });

export const DownloadHeaders = z.looseObject({
  range: z.string().max(256).optional().describe('`bytes=a-b`, `bytes=a-` or `bytes=-n`: answers 206 with just that slice (not MAC-verified). Several ranges are answered in full (200).'),
  'if-range': z.string().max(256).optional().describe('An ETag from an earlier download: the Range applies only while it still matches, else the whole file is sent.'),
});

export const SimulateMediaQuery = z.object({
  type: z.enum(MEDIA_TYPES).optional().describe('Defaults from the Content-Type (image/*, video/*, audio/*, image/webp → sticker, else document).'),
  fileName: z.string().min(1).max(255).optional(),
  caption: z.string().max(4096).optional(),
  from: z.string().min(1).max(128).optional().describe('Sender phone number or JID.'),
});

export const SimulatedMediaSchema = z.object({ messageId: z.string(), mediaId: z.string() }).meta({ id: 'SimulatedMedia', examples: [EXAMPLES.simulatedMedia] });
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
