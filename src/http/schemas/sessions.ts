import { z } from 'zod';
import { SessionNameSchema, Timestamp } from './common.js';
import { EXAMPLES } from './examples.js';

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
    statusReason: z
      .string()
      .nullable()
      .describe(
        'CONNECTING: SCAN_QR or AUTO_RECONNECT; DISCONNECTED: MANUAL_STOP, QR_TIMEOUT, LOGGED_OUT, FAILED, TEMPORARY_BAN or STREAM_ERROR.',
      ),
    phoneNumber: z.string().nullable(),
    pushName: z.string().nullable(),
    businessName: z.string().nullable(),
    platform: z.string().nullable(),
    lid: z.string().nullable(),
    proxy: z.string().nullable().describe('Shown with its password masked: http://user:***@host:port.'),
    config: z.record(z.string(), z.unknown()).nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Session', examples: [EXAMPLES.session] });

export const QrQuery = z.object({
  format: z.enum(['json', 'image']).default('json').describe('`image` answers the QR code as a PNG.'),
});

export const QrSchema = z
  .object({
    qr: z
      .string()
      .nullable()
      .describe('The code to render as a QR and scan (Linked devices → Link a device); null when there is none.'),
    event: z
      .enum(['qr', 'connecting', 'connected', 'disconnected'])
      .describe(
        '`qr`: scan it now; `connected`: already paired; `connecting`: no QR yet; `disconnected`: start the session first.',
      ),
  })
  .meta({ id: 'PairingQr' });

export const PairCodeBody = z
  .object({
    phoneNumber: z
      .string()
      .transform((v) => v.replace(/[\s()+.-]/g, ''))
      .pipe(
        z
          .string()
          .regex(/^\d{6,15}$/, 'must be a phone number in international format (country code first, digits only)'),
      ),
  })
  .strict();

export const PairCodeSchema = z
  .object({
    code: z.string().describe('Type it on the phone: Linked devices → Link a device → Link with phone number instead.'),
  })
  .meta({ id: 'PairingCode' });
