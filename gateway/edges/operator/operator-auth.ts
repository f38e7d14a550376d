/**
 * Operator authentication for the operator API, the CLI and the console: bearer tokens from the
 * configuration (held as sha256 digests, like agent keys). Agent credentials never authenticate operators.
 */
import type { RequestHandler, Request } from 'express';
import { digestApiKey, extractBearer } from '../../services/auth/index.js';
import { AuthError } from '../../kernel/index.js';
import { sendCode } from '../http/index.js';

export type OperatorRole = 'approver' | 'admin' | 'viewer';

/** Each role includes the ones below it: admin > approver > viewer. */
const RANK: Record<OperatorRole, number> = { viewer: 0, approver: 1, admin: 2 };

export interface Operator {
  id: string;
  roles: readonly OperatorRole[];
}

export interface OperatorDirectory {
  operators: readonly { id: string; roles: readonly OperatorRole[]; tokenDigests: readonly string[] }[];
}

export interface OperatorAuthenticator {
  authenticate(request: Pick<Request, 'headers' | 'rawHeaders' | 'originalUrl'>): Operator;
  /** Express middleware: sets `res.locals.operator`, or answers 401/403 JSON. */
  require(role?: OperatorRole): RequestHandler;
}

export function createOperatorAuthenticator(directory: OperatorDirectory): OperatorAuthenticator {
  const byDigest = new Map<string, Operator>();
  for (const operator of directory.operators) {
    const entry = Object.freeze({ id: operator.id, roles: Object.freeze([...operator.roles]) });
    for (const digest of operator.tokenDigests) byDigest.set(digest, entry);
  }
  const authenticate: OperatorAuthenticator['authenticate'] = (request) => {
    if (/[?&](access_token|token)=/i.test(request.originalUrl)) {
      throw new AuthError('UNAUTHENTICATED', 'credentials in the query string are not accepted', 'invalid_request');
    }
    const bearer = extractBearer(request.headers, request.rawHeaders);
    const operator = byDigest.get(digestApiKey(bearer));
    if (operator === undefined) throw new AuthError('UNAUTHENTICATED', 'invalid operator token', 'invalid_token');
    return operator;
  };
  return {
    authenticate,
    require(role) {
      return (req, res, next) => {
        try {
          const operator = authenticate(req);
          if (role !== undefined && !operator.roles.some((held) => RANK[held] >= RANK[role])) {
            sendCode(res, 'FORBIDDEN', `operator role "${role}" required`);
            return;
          }
          res.locals['operator'] = operator;
          next();
        } catch (error) {
          const message = error instanceof AuthError ? error.message : 'authentication failed';
          res.set('WWW-Authenticate', 'Bearer realm="portcullis-operator"');
          sendCode(res, 'UNAUTHENTICATED', message);
        }
      };
    },
  };
}
