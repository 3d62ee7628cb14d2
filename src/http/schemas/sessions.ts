import { z } from 'zod';
import { SessionNameSchema, Timestamp } from './common.js';

export const ProxySchema = z
  .string()
  .max(2048)
  .refine((v) => /^(https?|socks5h?):\/\//.test(v) && URL.canParse(v), {
    message: 'must be an http://, https:// or socks5:// proxy URL',
  });

export const CreateSessionBody = z
  .object({
    name: SessionNameSchema,
    start: z.boolean().optional().describe('Start the WhatsApp connection right away.'),
    proxy: ProxySchema.nullable().optional(),
    config: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .strict();

export const SessionSchema = z
  .object({
    name: z.string(),
    status: z.string().describe('CONNECTING, CONNECTED or DISCONNECTED.'),
    statusReason: z.string().nullable(),
    phoneNumber: z.string().nullable(),
    pushName: z.string().nullable(),
    businessName: z.string().nullable(),
    platform: z.string().nullable(),
    lid: z.string().nullable(),
    proxy: z.string().nullable(),
    config: z.record(z.string(), z.unknown()).nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Session' });
