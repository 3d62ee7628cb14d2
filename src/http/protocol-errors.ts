import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AppError,
  HeadersTooLargeError,
  MethodNotAllowedError,
  RequestTimeoutError,
  RouteNotFoundError,
  UriTooLongError,
} from '../errors.js';
import { errorBody, sendError } from './error-handler.js';

/**
 * Answers that never reach a route (a URL the router rejects, a request Node's parser refuses,
 * a known path with the wrong method) in the same `{error, code, docs}` envelope, with an
 * X-Request-Id, as every other answer.
 */

/** For Fastify's `frameworkErrors`: a path parameter over maxParamLength, a malformed URL. */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-request-id', request.id);
  const appErr =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new UriTooLongError()
      : new AppError('BAD_REQUEST', 400, 'The request URL is malformed.');
  request.log.info({ code: appErr.code, method: request.method }, appErr.message);
  void sendError(reply, appErr);
}

// Node's parser limit for the request line and headers together (--max-http-header-size).
const REQUEST_LINE_LIMIT = 8 * 1024;

/**
 * For Fastify's `clientErrorHandler`: the socket has no request object, so the answer is
 * written by hand and the connection closed (what Node itself does after a parse error).
 */
export function clientErrorHandler(error: Error, socket: Socket): void {
  const err = error as NodeJS.ErrnoException & { rawPacket?: unknown };
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  let appErr: AppError;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // A request line that alone fills the limit is a long URL (414), else the headers are (431).
    const packet = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : Buffer.alloc(0);
    const eol = packet.indexOf('\r\n');
    appErr = eol === -1 || eol > REQUEST_LINE_LIMIT ? new UriTooLongError() : new HeadersTooLargeError();
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    appErr = new RequestTimeoutError();
  } else {
    appErr = new AppError('BAD_REQUEST', 400, 'The request could not be parsed as HTTP/1.1.');
  }
  const body = JSON.stringify(errorBody(appErr));
  socket.end(
    `HTTP/1.1 ${appErr.statusCode} ${STATUS_CODES[appErr.statusCode]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${randomUUID()}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/** The methods each route path takes, as patterns, to tell a 405 from a 404. */
export function trackRouteMethods(app: FastifyInstance) {
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  const byUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (r) => {
    let methods = byUrl.get(r.url);
    if (!methods) {
      methods = new Set();
      byUrl.set(r.url, methods);
      const source = r.url
        .split('/')
        .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      routes.push({ pattern: new RegExp(`^${source}/?$`), methods });
    }
    for (const m of [r.method].flat()) methods.add(m);
  });
  return {
    /** The not-found answer: 405 with Allow when the path exists under other methods. */
    notFound(request: FastifyRequest): AppError {
      const path = request.url.split('?')[0] ?? '';
      const allow = new Set<string>();
      for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) allow.add(m);
      if (allow.size > 0 && !allow.has(request.method))
        return new MethodNotAllowedError(request.method, [...allow].sort());
      return new RouteNotFoundError(request.method, path);
    },
  };
}
