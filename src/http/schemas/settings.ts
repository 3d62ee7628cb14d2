import { z } from 'zod';
import { Timestamp } from './common.js';
import { EXAMPLES } from './examples.js';

const HttpUrl = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v), { message: 'must be an http(s) URL' });

export const S3SettingsInputSchema = z
  .object({
    endpoint: HttpUrl.nullable().default(null).describe('S3-compatible endpoint; null for AWS.'),
    region: z.string().min(1).max(64).default('us-east-1'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name'),
    accessKeyId: z.string().min(1).max(256).nullable().default(null),
    secretAccessKey: z
      .string()
      .min(1)
      .max(512)
      .nullable()
      .optional()
      .describe('Write-only. Omit to keep the stored secret; null to clear it.'),
    forcePathStyle: z.boolean().default(false),
    keyPrefix: z
      .string()
      .max(512)
      .regex(/^[^\\]*$/, 'must not contain backslashes')
      .default(''),
    publicBaseUrl: HttpUrl.nullable()
      .default(null)
      .describe('When set, URLs are <publicBaseUrl>/<key> instead of presigned.'),
    presignExpiresSeconds: z.number().int().min(60).max(604_800).default(3600),
  })
  .strict();

const PersistBeforeExpirySchema = z
  .object({
    enabled: z.boolean().default(false),
    hoursBefore: z
      .number()
      .int()
      .min(1)
      .max(13 * 24)
      .default(48)
      .describe('How long before the estimated CDN expiry (`cdnExpiresAt`) to persist.'),
  })
  .strict();

const RetentionSchema = z
  .object({
    persistedDays: z
      .number()
      .int()
      .min(1)
      .max(36_500)
      .nullable()
      .default(null)
      .describe('Objects stored longer than this are deleted from the bucket; null keeps them.'),
    recordsDays: z
      .number()
      .int()
      .min(1)
      .max(36_500)
      .nullable()
      .default(null)
      .describe('Media records (and their keys) older than this are removed; null keeps them.'),
  })
  .strict();

export const SettingsInputSchema = z
  .object({
    s3: S3SettingsInputSchema.nullable().default(null).describe('null: use the server default bucket, if any.'),
    autoPersist: z.boolean().default(false).describe('Persist every incoming media automatically.'),
    downloadMode: z
      .enum(['stream', 'redirect'])
      .default('stream')
      .describe('How downloads of persisted media are answered.'),
    persistBeforeExpiry: PersistBeforeExpirySchema.default({ enabled: false, hoursBefore: 48 }).describe(
      'Persist unpersisted media shortly before WhatsApp drops them from its CDN (needs a bucket).',
    ),
    retention: RetentionSchema.default({ persistedDays: null, recordsDays: null }).describe(
      'How long stored objects and media records are kept.',
    ),
  })
  .strict();

export const SettingsSchema = z
  .object({
    s3: z
      .object({
        endpoint: z.string().nullable(),
        region: z.string(),
        bucket: z.string(),
        accessKeyId: z.string().nullable(),
        secretAccessKeySet: z.boolean().describe('Whether a secret is stored (it is never shown).'),
        forcePathStyle: z.boolean(),
        keyPrefix: z.string(),
        publicBaseUrl: z.string().nullable(),
        presignExpiresSeconds: z.int(),
      })
      .nullable(),
    autoPersist: z.boolean(),
    downloadMode: z.enum(['stream', 'redirect']),
    persistBeforeExpiry: z.object({ enabled: z.boolean(), hoursBefore: z.number() }),
    retention: z.object({ persistedDays: z.number().nullable(), recordsDays: z.number().nullable() }),
    storage: z.enum(['account', 'server', 'none']).describe('Which bucket persist uses.'),
    updatedAt: Timestamp.nullable(),
  })
  .meta({ id: 'Settings', examples: [EXAMPLES.settings] });
