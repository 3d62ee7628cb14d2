import { pino, type Logger } from 'pino';

/**
 * Paths never written to a log line: credentials, secrets and media keys. S3 object keys are
 * logged as `key` and stay visible; nothing secret is ever logged under that name.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
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
  'sessionToken',
  '*.sessionToken',
  'hmacKey',
  '*.hmacKey',
];

// Secrets that can hide inside strings (error messages, URLs): API keys, presigned URL
// signatures and tokens, and the credentials of proxy or other URLs (`scheme://user:pass@`).
const SCRUB: [RegExp, string][] = [
  [/titan_[A-Za-z0-9_-]{43}/g, 'titan_[redacted]'],
  [/(X-Amz-(?:Signature|Security-Token|Credential)=)[^&"\s\\]+/gi, '$1[redacted]'],
  [/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"\\]+@/gi, '$1[redacted]@'],
];

/** Removes secrets found inside a finished log line. */
export function scrubSecrets(line: string): string {
  let s = line;
  for (const [re, to] of SCRUB) s = s.replace(re, to);
  return s;
}

/** pino, pretty when a person is watching (stdout is a TTY), JSON lines otherwise. */
export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY;
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: scrubSecrets },
      ...(pretty && !opts.destination
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
        : {}),
    },
    opts.destination,
  );
}

/**
 * Process warnings (deprecations, the AWS SDK's Node.js version notice) go into the log as one
 * JSON line each, instead of Node's multi-line text on stderr.
 */
export function routeProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) =>
    logger.warn(
      { warning: { name: w.name, code: (w as { code?: string }).code, message: w.message } },
      'process warning',
    ),
  );
}
