import { z } from 'zod';
import { SCOPES } from '../../accounts/scopes.js';
import { Timestamp } from './common.js';
import { EXAMPLES } from './examples.js';

export const ScopeSchema = z.enum(SCOPES);

export const CreateKeyBody = z
  .object({
    label: z.string().trim().min(1).max(100),
    scopes: z.array(ScopeSchema).min(1).max(SCOPES.length),
    lifetimeDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .describe('Key expires after this many days; never when omitted.'),
  })
  .strict();

export const AdminCreateKeyBody = CreateKeyBody.extend({
  accountId: z.string().min(1).optional().describe('Defaults to the default (oldest) account.'),
}).strict();

export const ApiKeySchema = z
  .object({
    id: z.string(),
    accountId: z.string(),
    label: z.string(),
    prefix: z.string().describe('First characters of the secret, to tell keys apart.'),
    scopes: z.array(z.string()),
    isActive: z.boolean(),
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'ApiKey', examples: [EXAMPLES.apiKey] });

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().describe('The secret. Shown only in this response; store it now.'),
}).meta({ id: 'CreatedApiKey' });

export const UpdateKeyBody = z
  .object({ label: z.string().trim().min(1).max(100).optional(), isActive: z.boolean().optional() })
  .strict();

export const KeyParams = z.object({ id: z.string().min(1).max(100) });

export const AccountSchema = z
  .object({ id: z.string(), name: z.string(), createdAt: Timestamp })
  .meta({ id: 'Account', examples: [EXAMPLES.account] });

export const CreateAccountBody = z.object({ name: z.string().trim().min(1).max(100) }).strict();
