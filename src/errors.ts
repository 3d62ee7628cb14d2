/**
 * The error catalogue. Every failure a client can see is one class here with a stable `code`
 * and an HTTP status; `docs/errors.md` lists every code (a test keeps the two in step).
 * Services throw these; `http/error-handler.ts` maps them to `{error, code, docs}` once.
 */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Extra machine-readable data sent to the client (e.g. per-field validation issues). */
  readonly details: unknown;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    statusCode: number,
    message: string,
    opts: { cause?: unknown; details?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
    this.details = opts.details;
    this.headers = opts.headers ?? {};
  }
}

type Opts = { cause?: unknown; details?: unknown; headers?: Record<string, string> };

// --- request / protocol -------------------------------------------------------------------
export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_FAILED', 400, message, { details });
  }
}
export class RouteNotFoundError extends AppError {
  constructor(method: string, url: string) {
    super('ROUTE_NOT_FOUND', 404, `Route ${method} ${url} not found.`);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(message = 'Request body is too large.') {
    super('PAYLOAD_TOO_LARGE', 413, message);
  }
}
export class UnsupportedMediaTypeError extends AppError {
  constructor(message = 'Unsupported Content-Type.') {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}
export class MethodNotAllowedError extends AppError {
  constructor(method: string, allow: string[]) {
    super('METHOD_NOT_ALLOWED', 405, `Method ${method} is not allowed here; use ${allow.join(', ')}.`, {
      headers: { allow: allow.join(', ') },
    });
  }
}
export class UriTooLongError extends AppError {
  constructor() {
    super('URI_TOO_LONG', 414, 'The request URL is too long.');
  }
}
export class HeadersTooLargeError extends AppError {
  constructor() {
    super('HEADERS_TOO_LARGE', 431, 'The request headers are too large.');
  }
}
export class RequestTimeoutError extends AppError {
  constructor() {
    super('REQUEST_TIMEOUT', 408, 'The request did not arrive in time.');
  }
}
export class JsonTooDeepError extends AppError {
  constructor(maxDepth: number) {
    super('JSON_TOO_DEEP', 400, `The JSON body nests deeper than ${maxDepth} levels.`);
  }
}
export class InvalidJsonError extends AppError {
  constructor(message = 'Request body is not valid JSON.') {
    super('INVALID_JSON', 400, message);
  }
}
export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, what = 'Rate limit exceeded') {
    super('RATE_LIMITED', 429, `${what}, retry in ${retryAfterSeconds} seconds.`, {
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }
}
export class InternalError extends AppError {
  constructor(opts: Opts = {}) {
    super('INTERNAL_ERROR', 500, 'Internal server error.', opts);
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(message: string, opts: Opts = {}) {
    super('SERVICE_UNAVAILABLE', 503, message, opts);
  }
}

// --- auth ---------------------------------------------------------------------------------
export class UnauthorizedError extends AppError {
  constructor(message = 'Missing or invalid API key.') {
    super('UNAUTHORIZED', 401, message, { headers: { 'www-authenticate': 'Bearer' } });
  }
}
export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('FORBIDDEN', 403, message);
  }
}

// --- resources ----------------------------------------------------------------------------
export class AccountNotFoundError extends AppError {
  constructor(message = 'Account not found.') {
    super('ACCOUNT_NOT_FOUND', 404, message);
  }
}
export class ApiKeyNotFoundError extends AppError {
  constructor() {
    super('API_KEY_NOT_FOUND', 404, 'API key not found.');
  }
}
export class SessionNotFoundError extends AppError {
  constructor() {
    super('SESSION_NOT_FOUND', 404, 'Session not found.');
  }
}
export class SessionExistsError extends AppError {
  constructor(name: string) {
    super('SESSION_EXISTS', 409, `A session named "${name}" already exists.`);
  }
}
export class MediaNotFoundError extends AppError {
  constructor() {
    super('MEDIA_NOT_FOUND', 404, 'Media not found.');
  }
}

export class ThumbnailNotFoundError extends AppError {
  constructor() {
    super('THUMBNAIL_NOT_FOUND', 404, 'The message of this media carried no thumbnail.');
  }
}
export class InvalidCursorError extends AppError {
  constructor() {
    super('INVALID_CURSOR', 400, 'The cursor is not one this listing handed out; start again without it.');
  }
}

// --- media --------------------------------------------------------------------------------
export class MediaDeletedError extends AppError {
  constructor(deletedAt: string) {
    super('MEDIA_DELETED', 410, `The media was deleted by its owner (at ${deletedAt}).`);
  }
}
export class MediaKeyWipedError extends AppError {
  constructor() {
    super(
      'MEDIA_EXPIRED',
      410,
      'The media expired on the WhatsApp CDN before it was persisted, and its key has been wiped: it can no longer be read.',
    );
  }
}
export class MediaExpiredError extends AppError {
  constructor(message = 'The media is no longer available on the WhatsApp CDN.', opts: Opts = {}) {
    super('MEDIA_EXPIRED', 410, message, opts);
  }
}
export class CdnUnavailableError extends AppError {
  constructor(message = 'The WhatsApp CDN could not be reached.', opts: Opts = {}) {
    super('CDN_UNAVAILABLE', 502, message, opts);
  }
}
export class CdnHostNotAllowedError extends AppError {
  constructor(origin: string) {
    super('CDN_HOST_NOT_ALLOWED', 502, `Media URL origin ${origin} is not on the CDN allowlist.`);
  }
}
export class MediaIntegrityError extends AppError {
  constructor(message: string, opts: Opts = {}) {
    super('MEDIA_INTEGRITY_FAILED', 502, message, opts);
  }
}
export class MediaTooLargeError extends AppError {
  constructor(limit: number) {
    super('MEDIA_TOO_LARGE', 413, `Media is larger than the configured maximum of ${limit} bytes.`);
  }
}
export class RangeNotSatisfiableError extends AppError {
  constructor(size: number) {
    super('RANGE_NOT_SATISFIABLE', 416, 'Requested range is not satisfiable.', {
      headers: { 'content-range': `bytes */${size}` },
    });
  }
}
export class BusyError extends AppError {
  constructor(retryAfterSeconds = 1) {
    super('BUSY', 503, 'Too many media transfers in flight, retry shortly.', {
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }
}
export class ShuttingDownError extends AppError {
  constructor(retryAfterSeconds = 5) {
    super('SHUTTING_DOWN', 503, 'The server is shutting down; retry shortly (another instance may take the request).', {
      headers: { 'retry-after': String(retryAfterSeconds) },
    });
  }
}
export class TransferCancelledError extends AppError {
  constructor(message = 'The transfer was cancelled: its session was stopped or deleted.') {
    super('TRANSFER_CANCELLED', 409, message);
  }
}
export class SimulatorDisabledError extends AppError {
  constructor() {
    super('SIMULATOR_DISABLED', 404, 'The sandbox simulator is not enabled on this server.');
  }
}

// --- storage ------------------------------------------------------------------------------
export class S3NotConfiguredError extends AppError {
  constructor() {
    super('S3_NOT_CONFIGURED', 400, 'No S3 bucket is configured for this account or server.');
  }
}
export class S3SettingsInvalidError extends AppError {
  constructor(reason: string, opts: Opts = {}) {
    super('S3_SETTINGS_INVALID', 400, `The S3 settings were rejected by the storage: ${reason}`, opts);
  }
}
export class S3EndpointNotAllowedError extends AppError {
  constructor(opts: Opts = {}) {
    super(
      'S3_ENDPOINT_NOT_ALLOWED',
      400,
      'The S3 endpoint is not allowed: it must be an http(s) URL whose host is, and resolves to, public addresses only.',
      opts,
    );
  }
}
export class ProxyNotAllowedError extends AppError {
  constructor(opts: Opts = {}) {
    super(
      'PROXY_NOT_ALLOWED',
      400,
      'The proxy is not allowed: its host must be, and resolve to, public addresses only, on a port from 1 to 65535.',
      opts,
    );
  }
}
export class StorageFailedError extends AppError {
  constructor(message: string, opts: Opts = {}) {
    super('STORAGE_FAILED', 502, message, opts);
  }
}

// --- webhooks -----------------------------------------------------------------------------
export class WebhookNotFoundError extends AppError {
  constructor() {
    super('WEBHOOK_NOT_FOUND', 404, 'Webhook not found.');
  }
}
export class WebhookDeliveryNotFoundError extends AppError {
  constructor() {
    super('WEBHOOK_DELIVERY_NOT_FOUND', 404, 'Webhook delivery not found.');
  }
}
export class WebhookUrlNotAllowedError extends AppError {
  constructor(reason: string, opts: Opts = {}) {
    super('WEBHOOK_URL_NOT_ALLOWED', 400, `The webhook URL is not allowed: ${reason}`, opts);
  }
}
export class WebhookDisabledError extends AppError {
  constructor() {
    super('WEBHOOK_DISABLED', 409, 'The webhook is disabled: enable it first.');
  }
}

// --- whatsapp sessions --------------------------------------------------------------------
export class SessionAlreadyPairedError extends AppError {
  constructor() {
    super(
      'SESSION_ALREADY_PAIRED',
      409,
      'The session is already linked to a WhatsApp account; log it out first to pair another.',
    );
  }
}
export class QrNotAvailableError extends AppError {
  constructor(state: string) {
    super('QR_NOT_AVAILABLE', 409, `There is no QR code to scan right now: the session is ${state}.`);
  }
}
export class PairingFailedError extends AppError {
  constructor(message: string, opts: Opts = {}) {
    super('PAIRING_FAILED', 502, message, opts);
  }
}
export class SessionUnreachableError extends AppError {
  constructor() {
    super(
      'SESSION_UNREACHABLE',
      503,
      'The server process running this session did not answer in time; retry shortly.',
      {
        headers: { 'retry-after': '1' },
      },
    );
  }
}
