/**
 * Errors raised by the egress guard's fetch. Each carries a stable SCREAMING_SNAKE `code` that the gateway's
 * error boundary maps once (see gateway/errors.ts). Messages are safe to show to the agent: they may name
 * the host, port and a reason, never headers, bodies, query strings or credentials.
 */
import type { AddressClass } from '../../../policies/types.js';

export type EgressErrorCode =
  'EGRESS_DENIED' | 'RESPONSE_TOO_LARGE' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_ERROR';

export class EgressError extends Error {
  override readonly name: string = 'EgressError';
  constructor(
    readonly code: EgressErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What was being decided when a request was denied; for audit and logs (an IP is not a secret). */
export interface EgressDenial {
  scheme: string;
  host: string;
  port: number;
  ip?: string;
  addressClass?: AddressClass;
  /** Rules that decided, empty for a default deny or a guard-level refusal. */
  rules: readonly string[];
  reason: string;
}

/** The request was not sent (or, for a redirect, not followed) because the destination is not allowed. */
export class EgressDeniedError extends EgressError {
  override readonly name: string = 'EgressDeniedError';
  override readonly code = 'EGRESS_DENIED' as const;
  constructor(readonly denial: EgressDenial) {
    super('EGRESS_DENIED', `egress to ${formatTarget(denial)} denied: ${denial.reason}`);
  }
}

export function isEgressError(error: unknown): error is EgressError {
  return error instanceof EgressError;
}

function formatTarget(denial: EgressDenial): string {
  if (denial.host === '') return `${denial.scheme} URL`;
  const host = denial.host.includes(':') ? `[${denial.host}]` : denial.host;
  return denial.port > 0 ? `${host}:${denial.port}` : host;
}
