import { pino, type Logger } from 'pino';

/** Paths never written to a log line: credentials, secrets and media keys. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'masterKey',
  '*.masterKey',
  'mediaKey',
  '*.mediaKey',
  '*.*.mediaKey',
  'media_key',
  '*.media_key',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'hmacKey',
  '*.hmacKey',
];

/** pino, pretty when a person is watching (stdout is a TTY), JSON lines otherwise. */
export function createLogger(level: string, opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY;
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      ...(pretty && !opts.destination ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } } : {}),
    },
    opts.destination,
  );
}
