import type { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  AppError,
  InternalError,
  InvalidJsonError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors.js';
import { noteFailure } from './request-log.js';
import { trackRouteMethods } from './protocol-errors.js';

// Served by this server (http/openapi.ts), so the link works on every install.
const DOCS_BASE = '/docs/errors';

/** Turns anything thrown into one of our AppErrors (the catalogue of src/errors.ts). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validation?: unknown };
  if (hasZodFastifySchemaValidationErrors(e)) {
    const issues = e.validation.map((v) => ({
      field: [e.validationContext, ...pathOf(v.instancePath)].filter(Boolean).join('.'),
      message: v.message,
    }));
    const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    return new ValidationError(`Invalid request: ${summary}`, issues);
  }
  if (e.validation) return new ValidationError(`Invalid request: ${e.message}`, e.validation);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return e.statusCode === 415
        ? new UnsupportedMediaTypeError(e.message)
        : new AppError('BAD_REQUEST', 400, e.message);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidJsonError();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidJsonError('Request body is empty but Content-Type is application/json.');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError('BAD_REQUEST', e.statusCode, e.message);
  }
  return new InternalError({ cause: err });
}

function pathOf(instancePath: string): string[] {
  return instancePath.split('/').filter(Boolean);
}

/** The `{error, code, docs}` envelope (plus `details` for validation). */
export function errorBody(err: AppError) {
  return {
    error: err.message,
    code: err.code,
    docs: `${DOCS_BASE}#${err.code.toLowerCase()}`,
    ...(err.details === undefined ? {} : { details: err.details }),
  };
}

/** Sends the error's envelope and headers. */
export function sendError(reply: FastifyReply, err: AppError) {
  for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
  // A stream reply that failed before its first byte already set a binary type.
  void reply.type('application/json; charset=utf-8');
  return reply.code(err.statusCode).send(errorBody(err));
}

/**
 * A streamed body that fails after the headers went out only cuts the connection; its code
 * still belongs on the request's line (unless the client leaving is what stopped it).
 */
export function noteLateFailure(request: FastifyRequest, body: Readable, clientGone: AbortSignal): void {
  body.once('error', (err) => {
    if (!clientGone.aborted) noteFailure(request, { code: toAppError(err).code, err });
  });
}

/** One error handler and one not-found handler (404, or 405 for a known path) for the whole app. */
export function registerErrorHandling(app: FastifyInstance) {
  const routes = trackRouteMethods(app);
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appErr = toAppError(error);
    // Headers already gone: the only honest signal left is to cut the connection.
    const late = reply.sent || reply.raw.headersSent;
    // The request's one line (request-log.ts) carries the code, and the cause of a 5xx or a cut reply.
    // A refusal told the tenant one generic sentence; its reason (an address, a DNS answer) is logged.
    const detail = appErr.statusCode < 500 && appErr.cause instanceof Error ? appErr.cause.message : undefined;
    noteFailure(request, {
      code: appErr.code,
      ...(appErr.statusCode >= 500 || late ? { err: error } : {}),
      ...(detail ? { detail } : {}),
    });
    if (late) {
      reply.raw.destroy(appErr);
      return reply;
    }
    return sendError(reply, appErr);
  });

  app.setNotFoundHandler((request, reply) => {
    const err = routes.notFound(request);
    noteFailure(request, { code: err.code });
    return sendError(reply, err);
  });
}
