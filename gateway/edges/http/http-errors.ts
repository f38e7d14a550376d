/**
 * The one HTTP error mapper every router uses: any error becomes `{ error: { code, message } }` with the
 * status from the kernel's table. Errors that carry a code of the vocabulary keep it and their message
 * (those messages are written to be shown); a body that does not parse or validate is INVALID_REQUEST,
 * wherever it is sent; anything else is INTERNAL with a generic message and goes to `onInternal` for the
 * logs. A credential problem also sets `WWW-Authenticate` (RFC 6750).
 */
import type { ErrorRequestHandler, Response } from 'express';
import { z } from 'zod';
import { AuthError, GatewayError, httpStatusOf, toGatewayError, type ErrorCode } from '../../kernel/index.js';

export function sendError(res: Response, error: unknown, onInternal?: (error: unknown) => void): void {
  const mapped = toHttpError(error);
  if (mapped.code === 'INTERNAL') onInternal?.(error);
  if (res.headersSent) return;
  if (error instanceof AuthError) {
    res.setHeader('WWW-Authenticate', `Bearer error="${error.bearerError ?? 'invalid_token'}"`);
  }
  res.status(httpStatusOf(mapped.code)).json({ error: { code: mapped.code, message: mapped.message } });
}

/** Shorthand for an error this router decides itself. */
export function sendCode(res: Response, code: ErrorCode, message: string): void {
  sendError(res, new GatewayError(code, message));
}

function toHttpError(error: unknown): { code: ErrorCode; message: string } {
  if (error instanceof z.ZodError) {
    return {
      code: 'INVALID_REQUEST',
      message: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    };
  }
  const bodyError = expressBodyError(error);
  if (bodyError !== undefined) return bodyError;
  const gatewayError = toGatewayError(error);
  return {
    code: gatewayError.code,
    message: gatewayError.code === 'INTERNAL' ? 'internal gateway error' : gatewayError.message,
  };
}

/** The body parser's own errors (too large, wrong type, not JSON). */
function expressBodyError(error: unknown): { code: ErrorCode; message: string } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, type } = error as { status?: unknown; type?: unknown };
  if (typeof type !== 'string' || typeof status !== 'number') return undefined;
  if (status === 413) return { code: 'PAYLOAD_TOO_LARGE', message: 'request body too large' };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'expected application/json' };
  if (type === 'entity.parse.failed') return { code: 'INVALID_REQUEST', message: 'request body is not valid JSON' };
  if (status < 500) return { code: 'INVALID_REQUEST', message: 'invalid request' };
  return undefined;
}

/** Error middleware for a router's body parser and handlers: the same mapping as `sendError`. */
export function errorMiddleware(onInternal?: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => sendError(res, error, onInternal);
}
