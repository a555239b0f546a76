import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import { ErrorCode, httpStatusOf } from '../errors.ts';
import { sendError } from './errors.ts';

/** What Node's HTTP server hands to 'clientError': the parser's code, or a timeout's. */
export interface ClientError extends Error {
  readonly code?: string | undefined;
}

/** How long a refused connection may keep sending before it is cut (what it sends is read and dropped). */
export const LINGER_MS = 2000;

const answered = new WeakSet<Socket>();

/** The Loupe code and message for an error Node's HTTP parser (or its timers) raised before Fastify saw a request. */
export function classifyClientError(err: ClientError): { code: ErrorCode; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      // Node counts the request line (method, URL, version) in the same limit as the headers.
      return {
        code: ErrorCode.HeadersTooLarge,
        message: 'the request line and headers are too large (the URL and query string count too)',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: ErrorCode.RequestTimeout, message: 'the request was not received in time' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: ErrorCode.PayloadTooLarge, message: 'the chunk extensions of the request body are too large' };
    default: {
      // llhttp's reasons are fixed strings ("Invalid method encountered"); anything else stays generic.
      const reason = err.code?.startsWith('HPE_') ? err.message.replace(/^Parse Error:\s*/, '') : '';
      return { code: ErrorCode.BadRequest, message: `malformed HTTP request${reason ? `: ${reason}` : ''}` };
    }
  }
}

/** The raw HTTP/1.1 response for a client error: Loupe's error body, a fresh request id, and `connection: close`. */
export function clientErrorResponse(err: ClientError, requestId: string = randomUUID()): string {
  const { code, message } = classifyClientError(err);
  const status = httpStatusOf[code];
  const body = JSON.stringify({ error: { code, message, request_id: requestId } });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\n` +
    `x-loupe-error-code: ${code}\r\n` +
    'x-content-type-options: nosniff\r\n' +
    'cache-control: no-store\r\n' +
    'connection: close\r\n' +
    '\r\n' +
    body
  );
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refused (a garbage request line,
 * headers or URL over the size limit, a bad Content-Length, a request not received in time)
 * never reaches Fastify's routes or error handler, so the answer is written to the socket here
 * in Loupe's error shape. Like Node, it writes only while no response has started on that
 * connection; then it half-closes, and what the client is still sending is read and dropped for
 * up to LINGER_MS, so the client reads the answer rather than a connection reset.
 */
export function clientErrorHandler(this: { log: FastifyBaseLogger }, err: ClientError, socket: Socket): void {
  // Node calls again for each later chunk the errored parser is fed; the first answer stands.
  if (answered.has(socket)) return;
  answered.add(socket);
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || socket.destroyed) {
    socket.destroy();
    return;
  }
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const { code } = classifyClientError(err);
  this.log.info({ reqId: requestId, code, parserError: err.code, remoteAddress: socket.remoteAddress }, 'client error');
  socket.end(clientErrorResponse(err, requestId));
  // Node's own listener keeps reading (its parser stays failed, and each chunk lands above).
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.once('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
}

/**
 * Fastify's `frameworkErrors`: a URL its router cannot decode (`/%zz`) or a path parameter over
 * its length limit is refused before any hook runs; this answers it like every other error,
 * with the request id.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (err, req, reply) => {
  reply.header('x-request-id', req.id);
  sendError(err, req, reply);
};
