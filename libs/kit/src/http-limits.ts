import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '@offramp/contracts';
import { newId } from './ids.ts';

const answered = new WeakSet<Socket>();

/** What an error of Node's HTTP parser becomes: status, catalogue code and message. */
function answerOf(code: string | undefined): { status: number; code: ErrorCode; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, code: 'HEADERS_TOO_LARGE', message: 'The request headers are larger than the server accepts' };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' };
  }
  return { status: 400, code: 'VALIDATION_ERROR', message: 'The HTTP request is malformed' };
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refuses some requests before Fastify sees
 * them (headers over `maxHeaderSize` (16 KiB by default), malformed requests, requests not received
 * within `requestTimeout`). Fastify's default answers those with its own JSON; this writes a plain
 * HTTP/1.1 answer with the error envelope and a fresh trace id instead, then closes the connection
 * (the parser cannot go on after an error). Nothing of the request (its headers may hold secrets)
 * is logged.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  // A reset connection is gone; there is nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const answer = answerOf(err.code);
  const traceId = newId();
  const level = answer.status === 400 ? 'debug' : 'info';
  this.log[level]({ traceId, code: err.code, status: answer.status }, 'client error answered');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ success: false, error: { code: answer.code, message: answer.message }, trace_id: traceId });
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `x-trace-id: ${traceId}`,
    'Connection: close',
  ].join('\r\n');
  socket.end(`${head}\r\n\r\n${body}`, () => socket.destroy());
}
